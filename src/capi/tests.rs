use super::*;
use std::ffi::CStr;

const ALL: [zoo_status; 20] = [
    ZOO_OK,
    ZOO_NULL_POINTER,
    ZOO_BAD_SIZE,
    ZOO_INVALID_ARGUMENT,
    ZOO_UNKNOWN_OPTION,
    ZOO_INVALID_OPTION,
    ZOO_BAD_STATE,
    ZOO_BAD_CANDIDATE,
    ZOO_CALLBACK_FAILED,
    ZOO_NONFINITE_LOSS,
    ZOO_ITERATION_FAILED,
    ZOO_INVALID_STRING,
    ZOO_PANIC,
    ZOO_NO_CANDIDATE,
    ZOO_RANK_FAILED,
    ZOO_ALLREDUCE_FAILED,
    ZOO_IO_ERROR,
    ZOO_BAD_CHECKPOINT,
    ZOO_OUT_OF_MEMORY,
    ZOO_BUSY,
];

fn text(ptr: *const c_char) -> String {
    unsafe { CStr::from_ptr(ptr) }.to_str().unwrap().to_owned()
}

#[test]
fn status_values_are_dense_and_named_like_the_enum() {
    for (value, status) in ALL.iter().enumerate() {
        assert_eq!(*status as u32, value as u32, "{status:?} was renumbered");
        assert_eq!(text(zoo_status_name(*status as u32)), format!("{status:?}"));
    }
    assert_eq!(
        text(zoo_status_name(ALL.len() as u32)),
        "ZOO_UNKNOWN_STATUS"
    );
}

#[test]
fn version_macros_match_the_crate_version() {
    let part = |s: &str| s.parse::<u32>().unwrap();
    assert_eq!(ZOO_VERSION_MAJOR, part(env!("CARGO_PKG_VERSION_MAJOR")));
    assert_eq!(ZOO_VERSION_MINOR, part(env!("CARGO_PKG_VERSION_MINOR")));
    assert_eq!(ZOO_VERSION_PATCH, part(env!("CARGO_PKG_VERSION_PATCH")));
    assert_eq!(
        ZOO_VERSION_NUMBER,
        ZOO_VERSION_MAJOR * 1_000_000 + ZOO_VERSION_MINOR * 1_000 + ZOO_VERSION_PATCH
    );
    assert_eq!(zoo_version_number(), ZOO_VERSION_NUMBER);
    assert_eq!(ZOO_MAX_THREADS, crate::schedule::MAX_THREADS);
    assert_eq!(text(zoo_version()), env!("CARGO_PKG_VERSION"));
}

#[test]
fn get_size_tells_the_capacity_get_needs() {
    let sizes = [1usize, 2, 1];
    let (mut m, mut t) = (std::ptr::null_mut(), std::ptr::null_mut());
    let mut size = 0;
    let mut buffer = [0 as c_char; 64];
    unsafe {
        assert_eq!(
            zoo_model_new_mlp(sizes.as_ptr(), 3, c"tanh".as_ptr(), 1, &mut m),
            ZOO_OK
        );
        let options = c"metrics_file='/tmp/zoo get size test.jsonl'";
        assert_eq!(zoo_trainer_new(m, options.as_ptr(), &mut t), ZOO_OK);
        let key = c"metrics_file".as_ptr();
        assert_eq!(zoo_trainer_get_size(t, key, &mut size), ZOO_OK);
        assert_eq!(size, "/tmp/zoo get size test.jsonl".len() + 1);
        assert_eq!(
            zoo_trainer_get(t, key, buffer.as_mut_ptr(), size - 1),
            ZOO_BAD_SIZE
        );
        assert_eq!(zoo_trainer_get(t, key, buffer.as_mut_ptr(), size), ZOO_OK);
        assert_eq!(text(buffer.as_ptr()), "/tmp/zoo get size test.jsonl");
        assert_eq!(
            zoo_trainer_get_size(t, c"nope".as_ptr(), &mut size),
            ZOO_UNKNOWN_OPTION
        );
        zoo_trainer_free(t);
        zoo_model_free(m);
    }
    let _ = std::fs::remove_file("/tmp/zoo get size test.jsonl");
}

#[test]
fn errors_set_the_thread_local_message_and_panics_are_caught() {
    let status = guard(|| Err(ZooError::NullPointer("thing")));
    assert_eq!(status, ZOO_NULL_POINTER);
    assert_eq!(text(zoo_last_error()), "thing is NULL");
    let other_thread = std::thread::spawn(|| text(zoo_last_error()))
        .join()
        .unwrap();
    assert_eq!(other_thread, "", "messages are per thread");

    let status = guard(|| panic!("boom"));
    assert_eq!(status, ZOO_PANIC);
    let message = text(zoo_last_error());
    assert!(
        message.contains("boom") && message.contains("capi/tests.rs"),
        "{message}"
    );

    zoo_debug_panic_next_call();
    assert_eq!(guard(ok), ZOO_PANIC);
    assert_eq!(guard(ok), ZOO_OK, "the hook fires once");
}

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

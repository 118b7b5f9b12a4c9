//! Sets the shared library's SONAME on Linux (libzoo.so.MAJOR), so hosts
//! link against the ABI version rather than a file name.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libzoo.so.{major}");
    }
}

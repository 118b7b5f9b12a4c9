//! Sets the shared library's SONAME on Linux, so hosts link against the ABI
//! version rather than a file name. ABI policy (README, "ABI and SONAME"):
//! before 1.0 a minor release may break the ABI, so the SONAME carries
//! major.minor (libzoo.so.0.1); from 1.0 on it carries the major only.
//! CMakeLists.txt and cmake/zooConfig.cmake.in follow the same rule.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_else(|_| "0".into());
        let abi = if major == "0" {
            format!("0.{minor}")
        } else {
            major
        };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libzoo.so.{abi}");
    }
}

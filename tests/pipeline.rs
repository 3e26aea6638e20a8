//! The main job's own tests (its restart and dead-letter paths, README
//! "Testing your service"), compiled from its source. Not `test = true` on
//! the example: that makes `cargo test` build only its test binary, and the
//! end-to-end tests run the example's program.

#[allow(dead_code)]
#[path = "../examples/training_pipeline.rs"]
mod training_pipeline;

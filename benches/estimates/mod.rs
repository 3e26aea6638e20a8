//! Reads back the medians criterion recorded, to print ratios against baselines.

/// The median criterion recorded for `group/function`, in nanoseconds.
///
/// `function` is criterion's directory name for the benchmark: its id with
/// `/` replaced by `_`.
pub fn median_ns(group: &str, function: &str) -> Option<f64> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/criterion")
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    // {"mean":{...},"median":{"confidence_interval":{...},"point_estimate":123.4,...
    let median = &text[text.find("\"median\"")?..];
    let value = &median[median.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    value[..value.find(',')?].parse().ok()
}

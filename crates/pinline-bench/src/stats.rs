//! Small statistics and formatting helpers.

use std::time::Duration;

/// The `q`-quantile (0..=1) of `sorted` (ascending), nearest-rank; `None` when empty.
pub fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Milliseconds with two decimals, or `–`.
pub fn ms(value: Option<Duration>) -> String {
    match value {
        Some(d) => format!("{:.2}", d.as_secs_f64() * 1000.0),
        None => "–".to_owned(),
    }
}

/// `a / b` with three decimals, or `–` when `b` is zero.
pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.3}", a / b)
    } else {
        "–".to_owned()
    }
}

/// A rate with one decimal.
pub fn per_sec(count: f64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count / secs } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let values: Vec<Duration> = (1..=1000).map(Duration::from_millis).collect();
        assert_eq!(quantile(&values, 0.5), Some(Duration::from_millis(500)));
        assert_eq!(quantile(&values, 0.99), Some(Duration::from_millis(990)));
        assert_eq!(quantile(&values, 0.999), Some(Duration::from_millis(999)));
        assert_eq!(quantile(&values, 1.0), Some(Duration::from_millis(1000)));
        assert_eq!(
            quantile(&values[..1], 0.999),
            Some(Duration::from_millis(1))
        );
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(ratio(1.0, 0.0), "–");
        assert_eq!(ratio(1.0, 2.0), "0.500");
    }
}

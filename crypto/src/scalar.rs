//! Scalar text as Go renders it, so MACs and outputs match sops byte for byte.

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest round-trip digits, no exponent.
/// This is the text sops encrypts and hashes for a float.
pub fn format_float_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        // Rust's Display is also shortest round-trip and never uses an exponent.
        format!("{v}")
    }
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)` (what yaml.v3 writes): shortest digits,
/// exponent form when the decimal exponent is below -4 or at least 6.
pub fn format_float_g(v: f64) -> String {
    format_float_exp_outside(v, -4, 6, 2)
}

/// Go's `encoding/json` float text: exponent form below 1e-6 or from 1e21, exponent
/// written without zero padding (`1e-7`, `1e+21`).
pub fn format_float_json(v: f64) -> String {
    format_float_exp_outside(v, -6, 21, 1)
}

fn format_float_exp_outside(v: f64, min_exp: i32, max_exp: i32, exp_width: usize) -> String {
    if !v.is_finite() {
        return format_float_f(v);
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // `{:e}` gives the shortest round-trip mantissa, e.g. "1.5e-7".
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if exp < min_exp || exp >= max_exp {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:0exp_width$}", exp.abs())
    } else {
        format!("{v}")
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// sops' bool text (`True`/`False`, for Python compatibility).
pub fn format_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f_format_matches_go() {
        assert_eq!(format_float_f(1.0), "1");
        assert_eq!(format_float_f(1e16), "10000000000000000");
        assert_eq!(format_float_f(0.1), "0.1");
        assert_eq!(format_float_f(-2.5e-7), "-0.00000025");
        assert_eq!(format_float_f(f64::INFINITY), "+Inf");
    }

    #[test]
    fn g_format_matches_go() {
        assert_eq!(format_float_g(1e6), "1e+06");
        assert_eq!(format_float_g(123456.0), "123456");
        assert_eq!(format_float_g(1e21), "1e+21");
        assert_eq!(format_float_g(1.5e-7), "1.5e-07");
        assert_eq!(format_float_g(0.0001), "0.0001");
        assert_eq!(format_float_g(1234.5678), "1234.5678");
    }

    #[test]
    fn json_format_matches_go() {
        assert_eq!(format_float_json(1e6), "1000000");
        assert_eq!(format_float_json(1e21), "1e+21");
        assert_eq!(format_float_json(1e-7), "1e-7");
        assert_eq!(format_float_json(3.25), "3.25");
    }

    #[test]
    fn bools() {
        assert_eq!(parse_go_bool("True"), Some(true));
        assert_eq!(parse_go_bool("yes"), None);
        assert_eq!(format_bool(false), "False");
    }
}

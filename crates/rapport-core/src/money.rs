//! Money as integer minor units and a currency: no floating point ever touches an amount, and
//! two amounts in different currencies never add up by accident.

use std::fmt;

use crate::CurrencyCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Money {
    /// Amount in the currency's minor unit (cents for USD, yen for JPY).
    pub minor: i64,
    pub currency: CurrencyCode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("is not an amount")]
    NotAnAmount,
    #[error("has more decimal places than the currency allows")]
    TooPrecise,
    #[error("is too large")]
    TooLarge,
}

impl Money {
    pub const fn new(minor: i64, currency: CurrencyCode) -> Self {
        Self { minor, currency }
    }

    /// Reads a decimal amount such as `"19.99"` or `"-5"` in `currency`'s minor units.
    pub fn parse_decimal(raw: &str, currency: CurrencyCode) -> Result<Self, MoneyError> {
        let raw = raw.trim();
        let (negative, digits) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || (digits.contains('.') && fraction.is_empty())
        {
            return Err(MoneyError::NotAnAmount);
        }
        let exponent = currency.exponent() as usize;
        if fraction.len() > exponent {
            return Err(MoneyError::TooPrecise);
        }
        let scaled = format!("{whole}{fraction:0<exponent$}");
        let magnitude: i64 = scaled.parse().map_err(|_| MoneyError::TooLarge)?;
        Ok(Self::new(if negative { -magnitude } else { magnitude }, currency))
    }
}

impl Money {
    /// Reads an amount a sender wrote as a JSON number (`19.99`, `1e2`) or string, rounding
    /// digits below the currency's minor unit half away from zero: tracking libraries send
    /// prices as floating point, so `19.999` arrives and must still become an amount.
    pub fn parse_rounded(raw: &str, currency: CurrencyCode) -> Result<Self, MoneyError> {
        let raw = raw.trim();
        let plain = if raw.contains(['e', 'E']) {
            let value: f64 = raw.parse().map_err(|_| MoneyError::NotAnAmount)?;
            if !value.is_finite() || value.abs() > 1e15 {
                return Err(MoneyError::TooLarge);
            }
            format!("{value:.6}")
        } else {
            raw.to_owned()
        };
        let exponent = currency.exponent() as usize;
        let Some((whole, fraction)) = plain.split_once('.').filter(|(_, f)| f.len() > exponent) else {
            return Self::parse_decimal(&plain, currency);
        };
        let (kept, dropped) = fraction.split_at(exponent);
        let exact = Self::parse_decimal(format!("{whole}.{kept}").trim_end_matches('.'), currency)?;
        if !dropped.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MoneyError::NotAnAmount);
        }
        let up = dropped.as_bytes()[0] >= b'5';
        let step = if whole.starts_with('-') { -1 } else { 1 };
        let minor = if up { exact.minor.checked_add(step).ok_or(MoneyError::TooLarge)? } else { exact.minor };
        Ok(Self::new(minor, currency))
    }
}

impl fmt::Display for Money {
    /// `19.99 USD`: the decimal amount and the code, never a locale-dependent symbol.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exponent = self.currency.exponent();
        let sign = if self.minor < 0 { "-" } else { "" };
        let magnitude = self.minor.unsigned_abs();
        if exponent == 0 {
            return write!(f, "{sign}{magnitude} {}", self.currency);
        }
        let unit = 10u64.pow(exponent);
        let width = exponent as usize;
        write!(f, "{sign}{}.{:0width$} {}", magnitude / unit, magnitude % unit, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> CurrencyCode {
        CurrencyCode::parse(code).expect("a currency")
    }

    #[test]
    fn sent_amounts_round_to_the_minor_unit() {
        let usd = currency("USD");
        let minor = |raw| Money::parse_rounded(raw, usd).map(|m| m.minor);
        assert_eq!(minor("19.99"), Ok(1999));
        assert_eq!(minor("19.999"), Ok(2000));
        assert_eq!(minor("19.994"), Ok(1999));
        assert_eq!(minor("-0.005"), Ok(-1));
        assert_eq!(minor("1e2"), Ok(10000));
        assert_eq!(minor("84"), Ok(8400));
        assert_eq!(Money::parse_rounded("12.5", currency("JPY")).map(|m| m.minor), Ok(13));
        assert_eq!(minor("abc"), Err(MoneyError::NotAnAmount));
    }

    #[test]
    fn decimal_amounts_become_minor_units() {
        let usd = currency("USD");
        assert_eq!(Money::parse_decimal("19.99", usd), Ok(Money::new(1999, usd)));
        assert_eq!(Money::parse_decimal("5", usd), Ok(Money::new(500, usd)));
        assert_eq!(Money::parse_decimal("-0.5", usd), Ok(Money::new(-50, usd)));
        assert_eq!(Money::parse_decimal("1.999", usd), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse_decimal("1,5", usd), Err(MoneyError::NotAnAmount));
        assert_eq!(Money::parse_decimal("1.", usd), Err(MoneyError::NotAnAmount));
        assert_eq!(Money::parse_decimal("120", currency("JPY")), Ok(Money::new(120, currency("JPY"))));
    }

    #[test]
    fn amounts_print_with_their_currency_code() {
        assert_eq!(Money::new(-1999, currency("EUR")).to_string(), "-19.99 EUR");
        assert_eq!(Money::new(5, currency("EUR")).to_string(), "0.05 EUR");
        assert_eq!(Money::new(1200, currency("JPY")).to_string(), "1200 JPY");
        assert_eq!(Money::new(1234, currency("KWD")).to_string(), "1.234 KWD");
    }
}

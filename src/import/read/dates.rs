//! Dates written as text in import files: ISO `YYYY-MM-DD`, compact `YYYYMMDD`, and the
//! day-first and month-first forms `DD/MM/YYYY` and `MM/DD/YYYY`. A column's form is detected
//! from its values only when they settle it: `03/04/2020` could be either of the last two, so
//! one value with a day above 12 in one position must decide, and otherwise the importer asks
//! (`--date-format`).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use super::UnknownChoice;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateFormat {
    /// `YYYY-MM-DD`, optionally followed by a time (`T10:00:00`, ` 10:00`), which is ignored.
    Iso,
    /// `YYYYMMDD`.
    Compact,
    /// `DD/MM/YYYY`; `.` and `-` are accepted as separators too, and one-digit days and months.
    DayMonthYear,
    /// `MM/DD/YYYY`, with the same latitude.
    MonthDayYear,
}

impl FromStr for DateFormat {
    type Err = UnknownChoice;

    /// The names `--date-format` takes: `iso`, `yyyymmdd`, `dd/mm/yyyy`, `mm/dd/yyyy`.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "iso" | "yyyy-mm-dd" => Ok(Self::Iso),
            "yyyymmdd" => Ok(Self::Compact),
            "dd/mm/yyyy" => Ok(Self::DayMonthYear),
            "mm/dd/yyyy" => Ok(Self::MonthDayYear),
            _ => Err(UnknownChoice("a date format: iso, yyyymmdd, dd/mm/yyyy or mm/dd/yyyy")),
        }
    }
}

impl fmt::Display for DateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Iso => "iso",
            Self::Compact => "yyyymmdd",
            Self::DayMonthYear => "dd/mm/yyyy",
            Self::MonthDayYear => "mm/dd/yyyy",
        })
    }
}

/// The one form every non-empty sample is a valid date in, or `None` when the samples are not
/// all dates of one form, or fit both day-first and month-first.
pub fn detect<'a>(samples: impl Iterator<Item = &'a str>) -> Option<DateFormat> {
    let mut candidates = [DateFormat::Iso, DateFormat::Compact, DateFormat::DayMonthYear, DateFormat::MonthDayYear]
        .map(|format| (format, true));
    let mut seen = false;
    for sample in samples.map(str::trim).filter(|s| !s.is_empty()) {
        seen = true;
        for (format, possible) in &mut candidates {
            *possible = *possible && parse(sample, *format).is_some();
        }
        if candidates.iter().all(|(_, possible)| !possible) {
            return None;
        }
    }
    let mut left = candidates.iter().filter(|(_, possible)| *possible).map(|(format, _)| *format);
    match (seen, left.next(), left.next()) {
        (true, Some(format), None) => Some(format),
        _ => None,
    }
}

/// The date `raw` writes in `format`, if it is one (a real calendar day, years 1000–9999).
pub fn parse(raw: &str, format: DateFormat) -> Option<NaiveDate> {
    let raw = raw.trim();
    let (year, month, day) = match format {
        DateFormat::Iso => {
            let date = raw.get(..10)?;
            let rest = &raw[10..];
            if !(rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')) {
                return None;
            }
            let b = date.as_bytes();
            if b[4] != b'-' || b[7] != b'-' {
                return None;
            }
            (digits(&date[..4])?, digits(&date[5..7])?, digits(&date[8..])?)
        }
        DateFormat::Compact => {
            if raw.len() != 8 {
                return None;
            }
            (digits(raw.get(..4)?)?, digits(raw.get(4..6)?)?, digits(raw.get(6..)?)?)
        }
        DateFormat::DayMonthYear | DateFormat::MonthDayYear => {
            let separator = raw.chars().find(|c| !c.is_ascii_digit())?;
            if !matches!(separator, '/' | '.' | '-') {
                return None;
            }
            let mut parts = raw.split(separator);
            let (first, second, year) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || first.len() > 2 || second.len() > 2 || year.len() != 4 {
                return None;
            }
            let (first, second, year) = (digits(first)?, digits(second)?, digits(year)?);
            if format == DateFormat::DayMonthYear { (year, second, first) } else { (year, first, second) }
        }
    };
    if year < 1000 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// A non-empty run of ASCII digits as a number.
fn digits(raw: &str) -> Option<u32> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn each_form_reads_its_own_dates_and_refuses_impossible_days() {
        assert_eq!(parse("1990-02-28", DateFormat::Iso), date(1990, 2, 28));
        assert_eq!(parse("1990-02-28T10:00:00Z", DateFormat::Iso), date(1990, 2, 28));
        assert_eq!(parse("1990-02-30", DateFormat::Iso), None);
        assert_eq!(parse("19900228", DateFormat::Compact), date(1990, 2, 28));
        assert_eq!(parse("1990228", DateFormat::Compact), None);
        assert_eq!(parse("28/02/1990", DateFormat::DayMonthYear), date(1990, 2, 28));
        assert_eq!(parse("2.3.1990", DateFormat::DayMonthYear), date(1990, 3, 2));
        assert_eq!(parse("02/28/1990", DateFormat::MonthDayYear), date(1990, 2, 28));
        assert_eq!(parse("28/02/1990", DateFormat::MonthDayYear), None);
        assert_eq!(parse("28/02/90", DateFormat::DayMonthYear), None);
        assert_eq!(parse("é", DateFormat::Iso), None);
        assert_eq!(parse("ééééé", DateFormat::Compact), None);
    }

    #[test]
    fn a_column_of_slashed_dates_is_detected_only_when_a_day_above_twelve_settles_it() {
        assert_eq!(detect(["03/04/2020", "28/02/1990", ""].into_iter()), Some(DateFormat::DayMonthYear));
        assert_eq!(detect(["03/04/2020", "02/28/1990"].into_iter()), Some(DateFormat::MonthDayYear));
        assert_eq!(detect(["03/04/2020", "05/06/1990"].into_iter()), None);
        assert_eq!(detect(["28/02/1990", "02/28/1990"].into_iter()), None);
    }

    #[test]
    fn iso_and_compact_columns_are_detected_and_anything_else_is_not_a_date() {
        assert_eq!(detect(["2020-01-31", " 1999-12-01 "].into_iter()), Some(DateFormat::Iso));
        assert_eq!(detect(["20200131", "19991201"].into_iter()), Some(DateFormat::Compact));
        assert_eq!(detect(["2020-01-31", "20200131"].into_iter()), None);
        assert_eq!(detect(["Paris", "2020-01-31"].into_iter()), None);
        assert_eq!(detect(["", " "].into_iter()), None);
    }

    #[test]
    fn the_names_of_the_command_line_option_read_back() {
        for format in [DateFormat::Iso, DateFormat::Compact, DateFormat::DayMonthYear, DateFormat::MonthDayYear] {
            assert_eq!(format.to_string().parse::<DateFormat>(), Ok(format));
        }
        assert!("dd-mm-yy".parse::<DateFormat>().is_err());
    }
}

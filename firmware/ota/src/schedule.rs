//! When an install may start: never during an open sale, and only outside
//! business hours unless a manager says so.
//!
//! Owns the pure rule [`may_install`] and the business-hours description.
//! It must not read the clock or the sale state: the caller passes the local
//! weekday and minute of the day and whether a sale is open.

/// Day of the week, Monday first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    /// The day before.
    pub fn previous(self) -> Weekday {
        use Weekday::*;
        match self {
            Mon => Sun,
            Tue => Mon,
            Wed => Tue,
            Thu => Wed,
            Fri => Thu,
            Sat => Fri,
            Sun => Sat,
        }
    }
}

/// One opening period: from `open` to `close`, minutes after local midnight
/// of `day`. A `close` at or before `open` runs past midnight into the next
/// day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenPeriod {
    /// The day the period starts.
    pub day: Weekday,
    /// Opening time, minutes after midnight (0..1440).
    pub open: u16,
    /// Closing time, minutes after midnight (0..1440).
    pub close: u16,
}

/// The moment to decide for, in the store's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Day of the week.
    pub day: Weekday,
    /// Minutes after local midnight (0..1440).
    pub minute: u16,
}

/// What the terminal knows when an update is ready to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallConditions<'a> {
    /// A sale is open on this terminal.
    pub sale_open: bool,
    /// A manager approved installing now.
    pub manager_approved: bool,
    /// The store's opening periods.
    pub business_hours: &'a [OpenPeriod],
    /// Now, in local time.
    pub now: LocalTime,
}

/// Why an install must wait.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Deferred {
    /// A sale is open; the install waits until it closes (even with a
    /// manager's approval: installing reboots the terminal).
    #[error("a sale is open")]
    SaleOpen,
    /// The store is open and no manager approved installing now.
    #[error("inside business hours ({day:?} {open:02}:{open_m:02}-{close:02}:{close_m:02}) without a manager's approval", open = .period.open / 60, open_m = .period.open % 60, close = .period.close / 60, close_m = .period.close % 60, day = .period.day)]
    BusinessHours {
        /// The opening period now falls in.
        period: OpenPeriod,
    },
}

/// The opening period `now` falls in, if any.
pub fn open_period(hours: &[OpenPeriod], now: LocalTime) -> Option<OpenPeriod> {
    hours.iter().copied().find(|p| {
        if p.close > p.open {
            p.day == now.day && now.minute >= p.open && now.minute < p.close
        } else {
            (p.day == now.day && now.minute >= p.open)
                || (p.day == now.day.previous() && now.minute < p.close)
        }
    })
}

/// Whether an install may start now: `Ok` or the reason it is deferred.
pub fn may_install(c: &InstallConditions<'_>) -> Result<(), Deferred> {
    if c.sale_open {
        return Err(Deferred::SaleOpen);
    }
    if c.manager_approved {
        return Ok(());
    }
    match open_period(c.business_hours, c.now) {
        Some(period) => Err(Deferred::BusinessHours { period }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::*;

    const HOURS: &[OpenPeriod] = &[
        OpenPeriod {
            day: Mon,
            open: 9 * 60,
            close: 18 * 60,
        },
        // Saturday night: 20:00 to 02:00 on Sunday.
        OpenPeriod {
            day: Sat,
            open: 20 * 60,
            close: 2 * 60,
        },
    ];

    fn at(day: Weekday, h: u16, m: u16, sale_open: bool, manager: bool) -> Result<(), Deferred> {
        may_install(&InstallConditions {
            sale_open,
            manager_approved: manager,
            business_hours: HOURS,
            now: LocalTime {
                day,
                minute: h * 60 + m,
            },
        })
    }

    /// day, hour, minute, sale open, manager approved, expected.
    type Case = (Weekday, u16, u16, bool, bool, Result<(), Deferred>);

    #[test]
    fn table() {
        let mon = HOURS[0];
        let sat = HOURS[1];
        let cases: &[Case] = &[
            (Mon, 8, 59, false, false, Ok(())),
            (
                Mon,
                9,
                0,
                false,
                false,
                Err(Deferred::BusinessHours { period: mon }),
            ),
            (
                Mon,
                17,
                59,
                false,
                false,
                Err(Deferred::BusinessHours { period: mon }),
            ),
            (Mon, 18, 0, false, false, Ok(())),
            (Mon, 12, 0, false, true, Ok(())),
            (Mon, 12, 0, true, true, Err(Deferred::SaleOpen)),
            (Mon, 23, 0, true, false, Err(Deferred::SaleOpen)),
            (Tue, 12, 0, false, false, Ok(())),
            (Sat, 19, 59, false, false, Ok(())),
            (
                Sat,
                20,
                0,
                false,
                false,
                Err(Deferred::BusinessHours { period: sat }),
            ),
            (
                Sun,
                1,
                59,
                false,
                false,
                Err(Deferred::BusinessHours { period: sat }),
            ),
            (Sun, 2, 0, false, false, Ok(())),
            (Mon, 1, 0, false, false, Ok(())),
        ];
        for (day, h, m, sale, manager, want) in cases {
            assert_eq!(
                &at(*day, *h, *m, *sale, *manager),
                want,
                "{day:?} {h:02}:{m:02} sale_open={sale} manager={manager}"
            );
        }
    }

    #[test]
    fn deferral_reason_reads_well() {
        let e = at(Mon, 10, 0, false, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "inside business hours (Mon 09:00-18:00) without a manager's approval"
        );
    }
}

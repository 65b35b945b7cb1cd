//! Aligned text tables and readable durations for the CLI's human output.

/// Renders rows under a header, each column as wide as its widest cell,
/// numbers right-aligned.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|title| title.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let numeric: Vec<bool> = (0..header.len())
        .map(|column| {
            !rows.is_empty()
                && rows.iter().all(|row| {
                    row.get(column).is_some_and(|cell| {
                        cell.chars().all(|character| character.is_ascii_digit())
                    })
                })
        })
        .collect();
    let mut out = String::new();
    let header_row: Vec<String> = header.iter().map(|title| (*title).to_owned()).collect();
    for row in std::iter::once(&header_row).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .zip(&numeric)
            .map(|((cell, width), right)| {
                if *right {
                    format!("{cell:>width$}")
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `3d04h05m`, `1h02m03s`, `4m05s`, `12s`.
pub fn duration(seconds: u64) -> String {
    let (days, hours, minutes, seconds) = (
        seconds / 86_400,
        seconds / 3_600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    if days > 0 {
        format!("{days}d{hours:02}h{minutes:02}m")
    } else if hours > 0 {
        format!("{hours}h{minutes:02}m{seconds:02}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds:02}s")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_numbers_go_right() {
        let rows = vec![
            vec!["198.18.0.2".to_owned(), "7".to_owned()],
            vec!["2001:db8::1".to_owned(), "1200".to_owned()],
        ];
        assert_eq!(
            render(&["Neighbor", "Routes"], &rows),
            "Neighbor     Routes\n198.18.0.2        7\n2001:db8::1    1200\n"
        );
    }

    #[test]
    fn durations_read_like_bgp_summaries() {
        assert_eq!(duration(12), "12s");
        assert_eq!(duration(245), "4m05s");
        assert_eq!(duration(3_723), "1h02m03s");
        assert_eq!(duration(273_900), "3d04h05m");
    }
}

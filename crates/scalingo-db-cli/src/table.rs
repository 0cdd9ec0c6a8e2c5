//! Aligned columns for people: a header line, then one line per row. Cells may be styled; the
//! padding is computed on their visible width, so colours do not shift columns.

use console::{StyledObject, measure_text_width, style};

/// A table being filled.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

/// Two spaces between columns.
const GAP: &str = "  ";

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row of already formatted (possibly styled) cells.
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.headers.len());
        self.rows.push(cells);
    }

    /// The table as text, without trailing spaces; `for_stderr` styles the header for stderr.
    pub fn render(&self, for_stderr: bool) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(measure_text_width(cell));
            }
        }
        let header: Vec<String> = self
            .headers
            .iter()
            .map(|header| {
                let styled: StyledObject<&str> = style(*header).bold();
                let styled = if for_stderr {
                    styled.for_stderr()
                } else {
                    styled
                };
                styled.to_string()
            })
            .collect();
        let mut text = String::new();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (index, (cell, width)) in row.iter().zip(&widths).enumerate() {
                if index > 0 {
                    line.push_str(GAP);
                }
                line.push_str(cell);
                let padding = width.saturating_sub(measure_text_width(cell));
                line.extend(std::iter::repeat_n(' ', padding));
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_visible_width() {
        let mut table = Table::new(&["NAME", "STATUS"]);
        table.row(vec!["a-long-name".into(), "\u{1b}[32mdone\u{1b}[0m".into()]);
        table.row(vec!["b".into(), "running".into()]);
        let text = console::strip_ansi_codes(&table.render(false)).into_owned();
        assert_eq!(
            text,
            "NAME         STATUS\na-long-name  done\nb            running\n"
        );
    }
}

//! The one table printer of human output.

/// Print a left-aligned table with a header row.
pub(crate) fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    print_table_with(header, rows, |_| {});
}

/// `print_table`, calling `after(i)` after row `i` (for detail lines under it).
pub(crate) fn print_table_with<const N: usize>(
    header: &[&str; N],
    rows: &[[String; N]],
    mut after: impl FnMut(usize),
) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for (i, row) in rows.iter().enumerate() {
        line(row.iter().map(String::as_str).collect());
        after(i);
    }
}

/// A JSON array of strings as `a, b`, or `-` when empty.
pub(crate) fn joined(v: &serde_json::Value) -> String {
    let items: Vec<&str> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .collect();
    if items.is_empty() {
        "-".into()
    } else {
        items.join(", ")
    }
}

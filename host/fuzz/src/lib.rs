//! Shared by the stream targets: cut a body into chunks where the input says.

/// The input is `[count, cut_1 .. cut_count, body ..]`: up to 15 cut points,
/// each a byte scaled to a position in the body. Returns the body and its chunks
/// (some may be empty, as a network read may be).
pub fn chunked(data: &[u8]) -> (&[u8], Vec<&[u8]>) {
    let Some((&count, rest)) = data.split_first() else {
        return (&[], Vec::new());
    };
    let (cuts, body) = rest.split_at(usize::from(count % 16).min(rest.len()));
    let mut cuts: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) * body.len() / 255)
        .collect();
    cuts.sort_unstable();
    let mut chunks = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        chunks.push(&body[start..cut]);
        start = cut;
    }
    chunks.push(&body[start..]);
    (body, chunks)
}

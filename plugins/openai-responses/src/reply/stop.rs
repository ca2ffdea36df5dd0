//! Stop sequences, applied to the reply's text as it streams (the Responses
//! API has no field for them). Text that could be the start of a stop
//! sequence is held back until the next piece shows whether it is one; at a
//! stop sequence the text ends before it.

/// The reply's visible text, cut at the first stop sequence.
#[derive(Debug, Default, Clone)]
pub struct StopFilter {
    stops: Vec<String>,
    /// Text that may be the start of a stop sequence.
    held: String,
}

/// What a piece of text gives.
#[derive(Debug, PartialEq, Eq)]
pub struct Filtered {
    /// Text to show now (maybe empty).
    pub text: String,
    /// A stop sequence came: the reply ends after `text`.
    pub stopped: bool,
}

impl StopFilter {
    /// Empty stop sequences are ignored; none at all lets text through as it comes.
    pub fn new(stops: &[String]) -> Self {
        StopFilter {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            held: String::new(),
        }
    }

    /// The next piece of text.
    pub fn push(&mut self, piece: &str) -> Filtered {
        if self.stops.is_empty() {
            return Filtered {
                text: piece.to_string(),
                stopped: false,
            };
        }
        self.held.push_str(piece);
        let first = self
            .stops
            .iter()
            .filter_map(|stop| self.held.find(stop.as_str()))
            .min();
        if let Some(at) = first {
            self.held.truncate(at);
            return Filtered {
                text: std::mem::take(&mut self.held),
                stopped: true,
            };
        }
        let keep = self.partial_stop_len();
        let text = self.held[..self.held.len() - keep].to_string();
        self.held.drain(..self.held.len() - keep);
        Filtered {
            text,
            stopped: false,
        }
    }

    /// The text held back, at the end of a text part: no stop sequence can
    /// complete any more.
    pub fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// The length of the longest end of `held` that begins a stop sequence.
    fn partial_stop_len(&self) -> usize {
        let held = self.held.as_str();
        (1..=held.len())
            .rev()
            .filter(|&n| held.is_char_boundary(held.len() - n))
            .find(|&n| {
                let tail = &held[held.len() - n..];
                self.stops
                    .iter()
                    .any(|stop| stop.len() > n && stop.starts_with(tail))
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(stops: &[&str]) -> StopFilter {
        StopFilter::new(&stops.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    /// The text shown for `pieces`, and whether a stop came.
    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let mut f = filter(stops);
        let mut shown = String::new();
        for piece in pieces {
            let out = f.push(piece);
            shown.push_str(&out.text);
            if out.stopped {
                return (shown, true);
            }
        }
        shown.push_str(&f.flush());
        (shown, false)
    }

    #[test]
    fn text_ends_before_the_first_stop_sequence() {
        assert_eq!(
            run(&["END"], &["one two END three"]),
            ("one two ".into(), true)
        );
        // Split across pieces, one byte at a time too.
        assert_eq!(run(&["END"], &["one E", "N", "D x"]), ("one ".into(), true));
        // The earliest of several wins, whichever is listed first.
        assert_eq!(run(&["zz", "\n\n"], &["a\n\nb zz"]), ("a".into(), true));
        // A stop sequence at the very start leaves no text.
        assert_eq!(run(&["Q:"], &["Q: next"]), (String::new(), true));
    }

    #[test]
    fn what_only_looks_like_a_stop_is_shown_in_the_end() {
        assert_eq!(run(&["END"], &["the EN", "D"]), ("the ".into(), true));
        assert_eq!(
            run(&["END"], &["the EN", "ding"]),
            ("the ENding".into(), false)
        );
        assert_eq!(run(&["END"], &["the EN"]), ("the EN".into(), false));
        // Held text is only what could begin a stop sequence.
        let mut f = filter(&["END"]);
        assert_eq!(f.push("abc E").text, "abc ");
        assert_eq!(f.push("x").text, "Ex");
        assert_eq!(f.flush(), "");
    }

    #[test]
    fn no_stops_pass_everything_and_unicode_stays_whole() {
        assert_eq!(run(&[], &["a", "b"]), ("ab".into(), false));
        assert_eq!(run(&[""], &["a"]), ("a".into(), false));
        assert_eq!(
            run(&["🌍!"], &["wörld 🌍", "?"]),
            ("wörld 🌍?".into(), false)
        );
        assert_eq!(run(&["🌍!"], &["wörld 🌍", "!"]), ("wörld ".into(), true));
        assert_eq!(run(&["é"], &["caf", "é au lait"]), ("caf".into(), true));
    }
}

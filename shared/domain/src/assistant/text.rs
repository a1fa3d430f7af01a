//! Text folding and phrase matching shared by the classifiers.
//!
//! Customers write "¿Cuánto cuesta?", "DON'T text me", "trade‑in" and "pre-approved". Every
//! rule here matches on *folded tokens*: lower case, Spanish accents removed, curly quotes
//! straightened, zero-width characters dropped, apostrophes removed inside words ("don't" →
//! "dont") and everything else that is not a letter or digit treated as a separator
//! ("trade-in" → "trade", "in"). Rules are then written once, without accents, and cannot
//! match inside a longer word ("sue" never matches "issue").
//!
//! A pattern is a space-separated list of elements, matched against consecutive tokens:
//!
//! - `word` matches that token exactly;
//! - `financ*` matches any token that starts with `financ`;
//! - `a|an|the` matches any one of the alternatives (each may end with `*`);
//! - an element ending in `?` may also match nothing (`talk|speak to|with a|an? person`).

/// Lower-cases, removes accents and zero-width characters, straightens quotes.
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => {}
            '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' | '`' | '\u{00B4}' => out.push('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' => out.push('"'),
            _ => {
                for lower in c.to_lowercase() {
                    out.push(strip_accent(lower));
                }
            }
        }
    }
    out
}

fn strip_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        _ => c,
    }
}

/// The folded words of `text`, in order.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    spanned_tokens(text).into_iter().map(|token| token.word).collect()
}

/// A folded word and where it is in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub word: String,
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
}

/// The folded words of `text` with their byte ranges in `text`.
pub(crate) fn spanned_tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut current: Option<Token> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let end = at + c.len_utf8();
        if matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}') {
            continue;
        }
        if c.is_alphanumeric() {
            let token = current.get_or_insert_with(|| Token {
                word: String::new(),
                start: at,
                end,
            });
            for lower in c.to_lowercase() {
                token.word.push(strip_accent(lower));
            }
            token.end = end;
        } else if is_apostrophe(c) && current.is_some() && chars.peek().is_some_and(|(_, n)| n.is_alphanumeric()) {
            // Inside a word: "don't" → "dont".
        } else if let Some(token) = current.take() {
            out.push(token);
        }
    }
    out.extend(current);
    out
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' | '`' | '\u{00B4}'
    )
}

/// The folded words of a message and the set of them, so a pattern that needs a word the
/// message does not have is skipped without a scan (most patterns, for most messages).
#[derive(Debug)]
pub(crate) struct Words<'w> {
    list: &'w [String],
    /// The distinct words, sorted: a message has tens of words and a pattern list hundreds of
    /// lookups, which a binary search over a few short strings answers faster than hashing.
    present: Vec<&'w str>,
    /// A bit for the first two bytes of each word (see [`pair_bit`]): most lookups are of a
    /// word or prefix the message lacks, and most of those are answered by this bit alone.
    pairs: u128,
}

/// A bit of 128 for the first two bytes of `word`; None for a one-byte word.
fn pair_bit(word: &str) -> Option<u128> {
    match word.as_bytes() {
        [first, second, ..] => Some(1 << ((u32::from(*first) * 31 + u32::from(*second)) % 128)),
        _ => None,
    }
}

impl<'w> Words<'w> {
    pub(crate) fn new(list: &'w [String]) -> Self {
        let mut present: Vec<&str> = list.iter().map(String::as_str).collect();
        present.sort_unstable();
        present.dedup();
        let pairs = present
            .iter()
            .filter_map(|word| pair_bit(word))
            .fold(0, |bits, bit| bits | bit);
        Self { list, present, pairs }
    }

    /// Whether the message has `word`, or with `prefix` a word that starts with it.
    fn contains(&self, word: &str, prefix: bool) -> bool {
        if pair_bit(word).is_some_and(|bit| self.pairs & bit == 0) {
            return false;
        }
        if prefix {
            let first_not_below = self.present.partition_point(|present| *present < word);
            self.present
                .get(first_not_below)
                .is_some_and(|present| present.starts_with(word))
        } else {
            self.present.binary_search(&word).is_ok()
        }
    }

    pub(crate) fn list(&self) -> &'w [String] {
        self.list
    }
}

/// A pattern, parsed once.
#[derive(Debug, Clone)]
pub(crate) struct Pattern<'a> {
    elements: Vec<Element<'a>>,
    /// The elements that must match, by index, the narrowest first: a message without one of
    /// each one's alternatives (words and prefixes) cannot match.
    required: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Element<'a> {
    /// Each alternative, and whether it is a prefix (`financ*`).
    alternatives: Vec<(&'a str, bool)>,
    optional: bool,
}

impl<'a> Pattern<'a> {
    pub(crate) fn new(pattern: &'a str) -> Self {
        let elements = pattern
            .split_whitespace()
            .map(|element| {
                let (alternatives, optional) = match element.strip_suffix('?') {
                    Some(stripped) => (stripped, true),
                    None => (element, false),
                };
                let alternatives = alternatives
                    .split('|')
                    .map(|alternative| match alternative.strip_suffix('*') {
                        Some(prefix) => (prefix, true),
                        None => (alternative, false),
                    })
                    .collect();
                Element { alternatives, optional }
            })
            .collect::<Vec<_>>();
        let mut required: Vec<usize> = (0..elements.len()).filter(|&i| !elements[i].optional).collect();
        // The narrowest first: the check stops at the first the message lacks.
        required.sort_by_key(|&i| elements[i].alternatives.len());
        Self { elements, required }
    }

    fn may_match(&self, words: &Words<'_>) -> bool {
        self.required.iter().all(|&i| {
            self.elements[i]
                .alternatives
                .iter()
                .any(|&(word, prefix)| words.contains(word, prefix))
        })
    }

    /// The token range of the first match.
    pub(crate) fn find(&self, words: &Words<'_>) -> Option<(usize, usize)> {
        if !self.may_match(words) {
            return None;
        }
        let tokens = words.list;
        (0..=tokens.len()).find_map(|start| match_at(tokens, start, &self.elements).map(|end| (start, end)))
    }

    /// Every token range where the pattern matches, by start.
    pub(crate) fn find_all(&self, words: &Words<'_>) -> Vec<(usize, usize)> {
        if !self.may_match(words) {
            return Vec::new();
        }
        let tokens = words.list;
        (0..=tokens.len())
            .filter_map(|start| match_at(tokens, start, &self.elements).map(|end| (start, end)))
            .filter(|(start, end)| end > start)
            .collect()
    }
}

/// A list of patterns, parsed once (they live in `LazyLock` statics next to their lists).
#[derive(Debug, Clone)]
pub(crate) struct Patterns(Vec<Pattern<'static>>);

impl Patterns {
    pub(crate) fn new(list: &'static [&'static str]) -> Self {
        Self(list.iter().map(|pattern| Pattern::new(pattern)).collect())
    }

    /// Whether any pattern matches somewhere in `words`.
    pub(crate) fn has(&self, words: &Words<'_>) -> bool {
        self.0.iter().any(|pattern| pattern.find(words).is_some())
    }

    /// The token range of the first match of the first pattern that matches.
    pub(crate) fn find(&self, words: &Words<'_>) -> Option<(usize, usize)> {
        self.0.iter().find_map(|pattern| pattern.find(words))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Pattern<'static>> {
        self.0.iter()
    }
}

/// Whether `pattern` matches somewhere in `tokens` (parsed on each call: for one-off rules).
pub(crate) fn has(tokens: &[String], pattern: &str) -> bool {
    Pattern::new(pattern).find(&Words::new(tokens)).is_some()
}

/// The token range of the first match of `pattern` (parsed on each call).
#[cfg(test)]
pub(crate) fn find(tokens: &[String], pattern: &str) -> Option<(usize, usize)> {
    Pattern::new(pattern).find(&Words::new(tokens))
}

/// The end of a match of `elements` starting at token `at`, if there is one.
fn match_at(tokens: &[String], at: usize, elements: &[Element<'_>]) -> Option<usize> {
    let Some((first, rest)) = elements.split_first() else {
        return Some(at);
    };
    if let Some(token) = tokens.get(at)
        && first.alternatives.iter().any(|(word, prefix)| {
            if *prefix {
                token.starts_with(word)
            } else {
                token == word
            }
        })
        && let Some(end) = match_at(tokens, at + 1, rest)
    {
        return Some(end);
    }
    if first.optional {
        match_at(tokens, at, rest)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_folded_and_split() {
        assert_eq!(
            tokens("¿Cuánto CUESTA el Trade‑In?"),
            ["cuanto", "cuesta", "el", "trade", "in"]
        );
        assert_eq!(tokens("DON’T text me!!"), ["dont", "text", "me"]);
        assert_eq!(tokens("ig\u{200B}nore 'quoted'"), ["ignore", "quoted"]);
    }

    #[test]
    fn a_message_has_its_words_and_their_prefixes_and_nothing_else() {
        let list: Vec<String> = ["financing", "a", "x1", "cr"].map(String::from).into();
        let words = Words::new(&list);
        for (word, prefix) in [
            ("financing", false),
            ("financ", true),
            ("f", true),
            ("a", false),
            ("x1", false),
        ] {
            assert!(words.contains(word, prefix), "{word} (prefix: {prefix})");
        }
        for (word, prefix) in [
            ("financ", false),
            ("financings", true),
            ("fx", true),
            ("b", false),
            ("crv", false),
            ("x", false),
        ] {
            assert!(!words.contains(word, prefix), "{word} (prefix: {prefix})");
        }
    }

    #[test]
    fn patterns_match_whole_words_with_prefixes_alternatives_and_optionals() {
        let words = tokens("Can I talk to a real person about financing?");
        assert!(has(&words, "talk|speak to|with a|an? real? person"));
        assert!(has(&words, "financ*"));
        assert!(!has(&words, "finance"));
        assert!(!has(&tokens("that is an issue"), "sue"));
        assert_eq!(find(&words, "a real person"), Some((4, 7)));
        assert!(has(&tokens("talk to person"), "talk to a|an? person"));
        assert!(!has(&tokens("talk to the person"), "talk to a|an? person"));
    }
}

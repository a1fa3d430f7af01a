//! Sentiment of one message, from -1 (furious) to 1 (delighted), by a small lexicon.
//!
//! The method is VADER's in miniature (Hutto & Gilbert, 2014): each known word has a valence
//! from -3 to 3; a negation among the three words before it flips and dampens it ("not happy"
//! is mildly negative, not the opposite of happy); an intensifier just before it ("very",
//! "so", "muy") strengthens it and a softener ("a bit", "kinda", "un poco") weakens it; a word
//! in capitals shouts; words after "but"/"pero" weigh more than those before; exclamation
//! marks amplify. The sum `s` is normalised to `s / sqrt(s² + 15)`, which keeps it in -1..1.
//!
//! The lexicon is short on purpose: it only has to tell a handover-worthy angry customer from
//! everyone else, in English and Spanish, in car-buying vocabulary.

use super::text::{fold, tokens};

/// At or below this sentiment a message is strongly negative: a handover trigger. One word
/// of the strongest kind ("terrible", "worst", "pésimo") reaches it on its own (-0.61); a
/// merely negative one ("bad", "not happy") does not (about -0.5 and above).
pub const STRONGLY_NEGATIVE: f32 = -0.55;

const NORMALISATION_ALPHA: f32 = 15.0;
const NEGATION_SCALAR: f32 = -0.74;

const LEXICON: &[(&str, f32)] = &[
    // English, positive.
    ("good", 1.9),
    ("great", 3.0),
    ("excellent", 3.0),
    ("amazing", 3.0),
    ("awesome", 3.0),
    ("fantastic", 3.0),
    ("perfect", 3.0),
    ("wonderful", 3.0),
    ("love", 3.0),
    ("loved", 3.0),
    ("liked", 1.5),
    ("nice", 1.8),
    ("happy", 2.7),
    ("glad", 2.0),
    ("pleased", 2.0),
    ("satisfied", 1.8),
    ("thanks", 1.9),
    ("thank", 1.5),
    ("appreciate", 2.0),
    ("appreciated", 2.0),
    ("helpful", 1.8),
    ("beautiful", 2.9),
    ("excited", 2.2),
    ("recommend", 1.5),
    ("fair", 1.3),
    ("easy", 1.5),
    ("quick", 1.0),
    ("friendly", 2.0),
    ("interested", 1.0),
    // English, negative.
    ("bad", -2.5),
    ("terrible", -3.0),
    ("horrible", -3.0),
    ("awful", -3.0),
    ("worst", -3.0),
    ("hate", -3.0),
    ("hated", -3.0),
    ("disgusting", -3.0),
    ("pathetic", -3.0),
    ("unacceptable", -3.0),
    ("ridiculous", -2.5),
    ("angry", -3.0),
    ("furious", -3.0),
    ("mad", -2.2),
    ("upset", -2.4),
    ("annoyed", -2.0),
    ("frustrated", -2.4),
    ("frustrating", -2.4),
    ("disappointed", -2.4),
    ("disappointing", -2.4),
    ("rude", -2.5),
    ("unprofessional", -2.5),
    ("incompetent", -2.7),
    ("liar", -3.0),
    ("liars", -3.0),
    ("lied", -2.5),
    ("lying", -2.5),
    ("scam", -3.0),
    ("scammed", -3.0),
    ("fraud", -3.0),
    ("ripoff", -3.0),
    ("waste", -1.8),
    ("wasted", -2.0),
    ("useless", -2.5),
    ("poor", -2.0),
    ("problem", -1.5),
    ("problems", -1.5),
    ("issue", -1.0),
    ("wrong", -2.0),
    ("sucks", -2.5),
    ("broken", -1.8),
    ("ignored", -2.0),
    ("never", -0.5),
    ("sad", -2.1),
    ("sorry", -0.5),
    ("unhappy", -2.5),
    ("complaint", -2.0),
    ("expensive", -1.0),
    ("overpriced", -2.0),
    // Spanish, positive.
    ("bueno", 1.9),
    ("buena", 1.9),
    ("buenisimo", 2.8),
    ("excelente", 3.0),
    ("genial", 3.0),
    ("perfecto", 3.0),
    ("perfecta", 3.0),
    ("gracias", 1.9),
    ("feliz", 2.7),
    ("contento", 2.2),
    ("contenta", 2.2),
    ("encanta", 3.0),
    ("encanto", 3.0),
    ("gusta", 1.5),
    ("bonito", 2.0),
    ("bonita", 2.0),
    ("amable", 2.0),
    ("increible", 2.8),
    ("maravilloso", 3.0),
    ("agradezco", 2.0),
    ("recomiendo", 1.5),
    // Spanish, negative.
    ("malo", -2.5),
    ("mala", -2.5),
    ("mal", -2.0),
    ("pesimo", -3.0),
    ("pesima", -3.0),
    ("terrible", -3.0),
    ("horrible", -3.0),
    ("odio", -3.0),
    ("inaceptable", -3.0),
    ("ridiculo", -2.5),
    ("molesto", -2.4),
    ("molesta", -2.4),
    ("enojado", -3.0),
    ("enojada", -3.0),
    ("furioso", -3.0),
    ("furiosa", -3.0),
    ("decepcionado", -2.4),
    ("decepcionada", -2.4),
    ("frustrado", -2.4),
    ("frustrada", -2.4),
    ("triste", -2.1),
    ("grosero", -2.5),
    ("grosera", -2.5),
    ("mentiroso", -3.0),
    ("mentirosos", -3.0),
    ("estafa", -3.0),
    ("fraude", -3.0),
    ("problema", -1.5),
    ("queja", -2.0),
    ("caro", -1.0),
    ("nunca", -0.5),
];

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent", "cant", "cannot", "couldnt",
    "wont", "wouldnt", "shouldnt", "havent", "hasnt", "hadnt", "aint", "nothing", "nobody", "neither", "nor",
    "without", "hardly", "barely", "nunca", "tampoco", "nada", "ni", "sin", "nadie",
];

const INTENSIFIERS: &[(&str, f32)] = &[
    ("very", 1.3),
    ("really", 1.3),
    ("so", 1.3),
    ("extremely", 1.5),
    ("super", 1.3),
    ("totally", 1.3),
    ("absolutely", 1.4),
    ("incredibly", 1.5),
    ("completely", 1.4),
    ("truly", 1.3),
    ("too", 1.2),
    ("most", 1.2),
    ("muy", 1.3),
    ("tan", 1.3),
    ("realmente", 1.3),
    ("totalmente", 1.3),
    ("bastante", 1.2),
    ("demasiado", 1.3),
    ("sumamente", 1.5),
    ("kinda", 0.6),
    ("kind", 0.6),
    ("somewhat", 0.6),
    ("slightly", 0.5),
    ("bit", 0.6),
    ("little", 0.6),
    ("poco", 0.6),
    ("algo", 0.7),
];

/// The sentiment of `text`, from -1 to 1, rounded to two decimals.
pub(crate) fn sentiment(text: &str) -> f32 {
    let words = tokens(text);
    let shouted = shouted_words(text);
    // "But"/"pero": what follows counts more than what came before.
    let pivot = words
        .iter()
        .rposition(|w| w == "but" || w == "pero" || w == "however" || w == "embargo");
    let mut sum = 0.0_f32;
    for (index, word) in words.iter().enumerate() {
        let Some(mut valence) = valence(word) else {
            continue;
        };
        if shouted.contains(word) {
            valence *= 1.3;
        }
        if let Some(scale) = index.checked_sub(1).and_then(|i| intensity(&words[i])) {
            valence *= scale;
        }
        let window = index.saturating_sub(3)..index;
        let negated = words[window.clone()]
            .iter()
            .zip(window.map(|i| words.get(i + 1)))
            .any(|(w, next)| NEGATIONS.contains(&w.as_str()) && !(w == "sin" && next.is_some_and(|n| n == "embargo")));
        if negated {
            valence *= NEGATION_SCALAR;
        }
        if let Some(pivot) = pivot {
            valence *= if index < pivot { 0.5 } else { 1.5 };
        }
        sum += valence;
    }
    if sum != 0.0 {
        let exclamations = text.matches('!').count().min(4) as f32;
        sum += sum.signum() * exclamations * 0.292;
    }
    let score = sum / (sum * sum + NORMALISATION_ALPHA).sqrt();
    (score.clamp(-1.0, 1.0) * 100.0).round() / 100.0
}

fn valence(word: &str) -> Option<f32> {
    LEXICON
        .iter()
        .find(|(entry, _)| *entry == word)
        .map(|(_, valence)| *valence)
}

fn intensity(word: &str) -> Option<f32> {
    INTENSIFIERS
        .iter()
        .find(|(entry, _)| *entry == word)
        .map(|(_, scale)| *scale)
}

/// Folded forms of the words written in capitals (three letters or more) in a message that is
/// not all capitals: "I am SO ANGRY" shouts; "HI, IS THE TAHOE AVAILABLE" is just caps lock.
fn shouted_words(text: &str) -> Vec<String> {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 3)
        .collect();
    let upper: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| w.chars().all(char::is_uppercase))
        .collect();
    if upper.len() == words.len() {
        return Vec::new();
    }
    upper.into_iter().map(fold).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutral_text_scores_zero() {
        assert_eq!(sentiment("Is the 2021 Tacoma still available?"), 0.0);
        assert_eq!(sentiment(""), 0.0);
    }

    #[test]
    fn normalisation_keeps_the_score_in_range() {
        let furious = "terrible awful worst horrible scam liars!!!!!!".repeat(20);
        assert_eq!(sentiment(&furious), -1.0);
        assert!(sentiment(&"great perfect love ".repeat(30)) <= 1.0);
    }
}

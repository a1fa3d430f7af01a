//! The bytes a content hash is taken over: an unambiguous encoding of a record's values, so
//! two records hash alike exactly when their values are alike. Each text ends with a byte
//! no UTF-8 text contains; an absent value and the end of a list are another such byte.
//! Feed vehicles (what an import compares with the stored row) and ADF leads (what a resent
//! lead is recognised by) both hash through it.

pub(crate) struct ContentEncoder<'b>(pub(crate) &'b mut Vec<u8>);

impl ContentEncoder<'_> {
    const NO_VALUE: u8 = 0xFE;
    const END_OF_TEXT: u8 = 0xFF;

    pub(crate) fn text(&mut self, text: Option<&str>) {
        match text {
            None => self.0.push(Self::NO_VALUE),
            Some(text) => {
                self.0.extend_from_slice(text.as_bytes());
                self.0.push(Self::END_OF_TEXT);
            }
        }
    }

    /// Text compared without regard to case or runs of whitespace.
    pub(crate) fn folded(&mut self, text: Option<&str>) {
        match text {
            None => self.0.push(Self::NO_VALUE),
            Some(text) => {
                for (index, word) in text.split_whitespace().enumerate() {
                    if index > 0 {
                        self.0.push(b' ');
                    }
                    for c in word.chars().flat_map(char::to_lowercase) {
                        let mut buffer = [0; 4];
                        self.0.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
                    }
                }
                self.0.push(Self::END_OF_TEXT);
            }
        }
    }

    pub(crate) fn number(&mut self, number: i64) {
        self.0.extend_from_slice(&number.to_le_bytes());
    }

    pub(crate) fn optional_number(&mut self, number: Option<i64>) {
        match number {
            None => self.0.push(Self::NO_VALUE),
            Some(number) => {
                self.0.push(0);
                self.number(number);
            }
        }
    }

    pub(crate) fn list<'t>(&mut self, items: impl Iterator<Item = &'t str>) {
        items.for_each(|item| self.text(Some(item)));
        self.0.push(Self::NO_VALUE);
    }
}

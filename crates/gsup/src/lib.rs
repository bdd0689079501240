//! IPA framing and GSUP messages (being written).

//! HLR/AuC (being written).

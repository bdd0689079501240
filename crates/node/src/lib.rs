//! Service drivers (being written).

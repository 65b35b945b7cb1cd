//! The ROUTE-REFRESH message (RFC 2918 §3) with the subtypes of RFC 7313 §3.2.

use serde::Serialize;

use super::family::Family;

/// A ROUTE-REFRESH message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RouteRefresh {
    /// The family to refresh.
    pub family: Family,
    /// Plain request, or the beginning or end of a re-advertisement.
    pub subtype: RouteRefreshSubtype,
}

/// The message subtype carried in the octet that RFC 2918 reserved (RFC 7313 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteRefreshSubtype {
    /// 0: a request to re-advertise the Adj-RIB-Out.
    Request,
    /// 1: Beginning of Route Refresh (BoRR).
    BeginningOfRefresh,
    /// 2: End of Route Refresh (EoRR).
    EndOfRefresh,
    /// Any other value; RFC 7313 §5 says to ignore the message.
    Unknown(u8),
}

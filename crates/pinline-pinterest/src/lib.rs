//! Pinterest API v5 as pinline sees it: the fact tables ([`facts`]) shared by the gateway and the
//! sandbox, and (in later modules) wire models, secret types and a typed HTTP client.

pub mod facts;

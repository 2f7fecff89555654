//! STUB (replaced by the real client at merge).
#![allow(missing_docs, dead_code, unused_variables)]
use std::path::PathBuf;
use std::time::Duration;
pub struct ClientConfig {
    pub extra_ca: Option<PathBuf>,
    pub allow_private: bool,
    pub max_connections: usize,
    pub timeout: Duration,
    pub user_agent: String,
}
impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            extra_ca: None,
            allow_private: false,
            max_connections: 8,
            timeout: Duration::from_secs(10),
            user_agent: String::new(),
        }
    }
}
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}
impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        None
    }
}
pub struct Client;
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("x")]
    Busy,
}
impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Client, FetchError> {
        todo!()
    }
    pub fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        max_body: usize,
    ) -> Result<Response, FetchError> {
        todo!()
    }
    pub fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        max_body: usize,
    ) -> Result<Response, FetchError> {
        todo!()
    }
}
pub struct Target {
    pub host: String,
    pub port: u16,
    pub authority: String,
    pub path: String,
}
pub fn parse_url(url: &str) -> Result<Target, FetchError> {
    todo!()
}

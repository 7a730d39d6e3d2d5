//! Pages become text: HTML tokenized and reduced to its main content, markdown and plain text read
//! as the same blocks, and blocks cut into chunks for the index.

pub mod chunk;
pub mod extract;
pub mod html;
mod html_entities;
pub mod main_content;
pub mod markdown;

//! Share links of encrypted items: `https://host/s/TOKEN#k=<item key>`.
//! The key is the item's own (it opens that item and nothing else) and
//! lives in the fragment, which is never sent to the server.

use cloudbuffer_crypto::{field_salt, Decryptor, ItemKey, ItemSalt, HEADER_LEN};
use cloudbuffer_protocol::Share;
use futures_util::StreamExt;

use super::open::decryption;
use crate::api::segment;
use crate::error::{ClientError, Result};
use crate::Client;

/// Splits a share link into the URL to fetch (without its fragment) and the
/// item key of its `#k=` fragment, if it has one. A `k=` that is not a key
/// is [`ClientError::IncompleteLink`] (a link cut or mistyped).
pub fn split_share_fragment(link: &str) -> Result<(String, Option<ItemKey>)> {
    let link = link.trim();
    let Some((url, fragment)) = link.split_once('#') else {
        return Ok((link.to_string(), None));
    };
    if !fragment.split('&').any(|param| param.starts_with("k=")) {
        return Ok((url.to_string(), None));
    }
    let key = ItemKey::from_share_fragment(fragment).map_err(|_| ClientError::IncompleteLink)?;
    Ok((url.to_string(), Some(key)))
}

impl Client {
    /// The link to hand out for `share`: its URL, plus `#k=<item key>` when
    /// the item is encrypted (then this client must hold the account key).
    pub async fn share_link(&self, share: &Share) -> Result<String> {
        Ok(match self.share_key(share).await? {
            Some(key) => format!("{}#{}", share.url, key.to_share_fragment()),
            None => share.url.clone(),
        })
    }

    /// The item key of an encrypted share's item (`None` if it is not
    /// encrypted). It is derived from the salt in the item's own content,
    /// not from its listed name, so the key is that of what the link serves.
    pub async fn share_key(&self, share: &Share) -> Result<Option<ItemKey>> {
        let file = share.file.as_ref().or(share.clip.as_ref().and_then(|c| c.file.as_ref()));
        let salt = match (file, &share.clip) {
            (Some(file), _) if file.encrypted => {
                let salt = self.content_salt(&file.id).await?;
                if field_salt(&file.name).ok() != Some(salt) {
                    return Err(ClientError::Decryption(
                        "the shared file's name belongs to another item (the server paired them wrongly)"
                            .into(),
                    ));
                }
                salt
            }
            (None, Some(clip)) if clip.encrypted => {
                let url = self.url(&format!("/api/v1/buffer/clips/{}/content", segment(&clip.id)));
                let response = self.send(|token| self.http.get(&url).bearer_auth(token)).await?;
                let field = response.text().await.map_err(|e| self.transport_error(e))?;
                field_salt(field.trim()).map_err(|e| decryption("the shared clip", &e))?
            }
            _ => return Ok(None),
        };
        let account = self.opening_key()?;
        Ok(Some(ItemKey::derive(&account, &salt)))
    }

    /// The salt in an encrypted file's header: its first bytes only.
    async fn content_salt(&self, id: &str) -> Result<ItemSalt> {
        let url = self.url(&format!("/api/v1/files/{}/content", segment(id)));
        let range = format!("bytes=0-{}", HEADER_LEN - 1);
        let response =
            self.send(|token| self.http.get(&url).bearer_auth(token).header("range", range.as_str())).await?;
        let mut head = Vec::with_capacity(HEADER_LEN);
        let mut body = response.bytes_stream();
        // A server that ignores the range sends it all: stop after the header.
        while head.len() < HEADER_LEN {
            match body.next().await {
                Some(chunk) => head.extend_from_slice(&chunk.map_err(|e| self.transport_error(e))?),
                None => break,
            }
        }
        head.truncate(HEADER_LEN);
        let account = self.opening_key()?;
        let mut decryptor = Decryptor::new(&account);
        decryptor.push(&head, &mut Vec::new()).map_err(|e| decryption("the shared file", &e))?;
        decryptor.salt().ok_or_else(|| decryption("the shared file", &cloudbuffer_crypto::Error::Truncated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments() {
        let key = ItemKey::from_bytes([5; 32]);
        let link = format!("http://h/s/tok#{}", key.to_share_fragment());
        let (url, found) = split_share_fragment(&link).unwrap();
        assert_eq!(url, "http://h/s/tok");
        assert_eq!(found.unwrap().as_bytes(), key.as_bytes());
        let (url, found) =
            split_share_fragment(&format!("http://h/s/tok#x=1&{}", key.to_share_fragment())).unwrap();
        assert_eq!((url.as_str(), found.is_some()), ("http://h/s/tok", true));
        assert!(split_share_fragment("http://h/s/tok").unwrap().1.is_none());
        assert!(split_share_fragment("http://h/s/tok#top").unwrap().1.is_none());
        let cut = &link[..link.len() - 5];
        assert!(matches!(split_share_fragment(cut), Err(ClientError::IncompleteLink)));
    }
}

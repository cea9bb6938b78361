//! Downloads streamed by keyset pages: a page is read, encoded and handed to the body before the
//! next one is read, so memory holds one page whatever the range (the exports of a year of leads
//! stay far inside a Worker's 128 MB). The first page is read before answering, so a storage
//! failure is an error status rather than an empty download; a later page that cannot be read
//! fails the body, so the download is visibly cut short rather than quietly incomplete.

use std::future::Future;
use std::rc::Rc;

use worker::Response;

use crate::error::ApiError;

/// What a download is: its content type, its file name, and the bytes before the first page (a
/// CSV header).
pub struct Download {
    pub content_type: &'static str,
    pub file_name: &'static str,
    pub prefix: Vec<u8>,
}

/// Where the stream stands: a page read and not yet written, or the key to read the next page
/// after; `Done` once a page came back short.
enum Next<T, K> {
    Page(Vec<T>),
    After(K),
    Done,
}

/// Streams `download`: `page(after)` reads the page after a key (`None`: the first), at most
/// `size` items; `key` is the key of a page's last item; `encode` writes a page's bytes.
pub async fn stream<T, K, F, Fut>(
    download: Download,
    size: usize,
    page: F,
    key: fn(&T) -> K,
    encode: fn(&[T]) -> Vec<u8>,
) -> Result<Response, ApiError>
where
    T: 'static,
    K: 'static,
    F: Fn(Option<K>) -> Fut + 'static,
    Fut: Future<Output = Result<Vec<T>, ApiError>> + 'static,
{
    let page = Rc::new(page);
    let first = page(None).await?;
    let prefix = (!download.prefix.is_empty()).then_some(download.prefix);
    let state = (page, Next::Page(first), prefix);
    let pages = futures_util::stream::unfold(state, move |(page, next, prefix)| async move {
        let rows = match next {
            Next::Done => return None,
            Next::Page(rows) => rows,
            Next::After(after) => match page(Some(after)).await {
                Ok(rows) => rows,
                Err(e) => {
                    let error = worker::Error::from(format!("the export stopped: {}", e.message));
                    return Some((Err(error), (page, Next::Done, None)));
                }
            },
        };
        let next = match rows.last() {
            Some(last) if rows.len() == size => Next::After(key(last)),
            _ => Next::Done,
        };
        let mut chunk = prefix.unwrap_or_default();
        chunk.extend(encode(&rows));
        if chunk.is_empty() {
            return None;
        }
        // The rows go before the next page is read: one page in memory at a time.
        drop(rows);
        Some((Ok::<_, worker::Error>(chunk), (page, next, None)))
    });
    let mut response = Response::from_stream(pages)
        .map_err(|_| ApiError::new(500, "internal", "The export could not be made."))?;
    let headers = response.headers_mut();
    let _ = headers.set("content-type", download.content_type);
    let _ = headers.set(
        "content-disposition",
        &format!("attachment; filename=\"{}\"", download.file_name),
    );
    Ok(response)
}

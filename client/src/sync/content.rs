//! What "the same content" means for echo suppression, and PNG coding.
//!
//! Text is compared after normalizing line endings and trailing newlines
//! (tools add or drop them); images by a hash of their decoded RGBA pixels,
//! since re-encoding an image changes its PNG bytes but not its pixels.

use super::clipboard::Image;

/// A fingerprint of clipboard content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentKey {
    /// Normalized text.
    Text([u8; 32]),
    /// Decoded pixels and size.
    Image([u8; 32]),
}

/// `\r\n` and `\r` become `\n`; trailing newlines are dropped.
pub fn normalize_text(text: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = text.trim_end_matches(['\n', '\r']);
    if trimmed.contains('\r') {
        std::borrow::Cow::Owned(trimmed.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(trimmed)
    }
}

/// The key of a text.
pub fn text_key(text: &str) -> ContentKey {
    ContentKey::Text(*blake3::hash(normalize_text(text).as_bytes()).as_bytes())
}

/// The key of an image.
pub fn image_key(image: &Image) -> ContentKey {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&(image.width as u64).to_le_bytes());
    hasher.update(&(image.height as u64).to_le_bytes());
    hasher.update(&image.rgba);
    ContentKey::Image(*hasher.finalize().as_bytes())
}

/// Encodes an RGBA image as PNG (fast compression: clipboard images are
/// often screenshots and the upload should start at once).
pub fn encode_png(image: &Image) -> Result<Vec<u8>, String> {
    if image.rgba.len() != image.width * image.height * 4 || image.width == 0 || image.height == 0 {
        return Err(format!("bad image: {image:?}"));
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, image.width as u32, image.height as u32);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&image.rgba).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Decodes any PNG into 8-bit RGBA, refusing images over `max_pixels`.
pub fn decode_png(bytes: &[u8], max_pixels: usize) -> Result<Image, String> {
    let mut decoder = png::Decoder::new(bytes);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("not a PNG: {e}"))?;
    let (width, height) = (reader.info().width as usize, reader.info().height as usize);
    if width.saturating_mul(height) > max_pixels {
        return Err(format!("image too large ({width}x{height})"));
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(|e| format!("bad PNG: {e}"))?;
    buf.truncate(frame.buffer_size());
    let rgba = match frame.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        png::ColorType::GrayscaleAlpha => {
            buf.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect()
        }
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        png::ColorType::Indexed => return Err("indexed PNG not expanded".into()),
    };
    if rgba.len() != width * height * 4 {
        return Err("PNG with an unexpected row layout".into());
    }
    Ok(Image { width, height, rgba })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_normalization() {
        assert_eq!(text_key("a\r\nb\n"), text_key("a\nb"));
        assert_eq!(text_key("a\rb"), text_key("a\nb\r\n"));
        assert_ne!(text_key("a b"), text_key("a  b"));
        assert_ne!(text_key("a"), text_key(" a"));
    }

    #[test]
    fn png_round_trip_keeps_the_pixel_key() {
        let image = Image { width: 3, height: 2, rgba: (0..24).collect() };
        let png = encode_png(&image).unwrap();
        let back = decode_png(&png, 100).unwrap();
        assert_eq!(back, image);
        assert_eq!(image_key(&back), image_key(&image));
        assert!(decode_png(&png, 5).is_err());
        assert!(decode_png(b"nope", 5).is_err());
    }
}

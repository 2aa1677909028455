//! QR codes of share URLs, as SVG and as PNG (drawn here from the module
//! matrix, so no image library is needed).

use qrcode::{Color, EcLevel, QrCode};

/// Pixels per module in PNGs: big enough to scan from a screen at arm's length.
const PNG_SCALE: usize = 8;
/// Modules of white border the QR spec asks for.
const QUIET_ZONE: usize = 4;

fn code(text: &str) -> Result<QrCode, qrcode::types::QrError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
}

/// An SVG QR code of `text`.
pub fn svg(text: &str) -> Result<String, String> {
    let code = code(text).map_err(|e| e.to_string())?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(256, 256).quiet_zone(true).build())
}

/// A grayscale PNG QR code of `text`.
pub fn png(text: &str) -> Result<Vec<u8>, String> {
    let code = code(text).map_err(|e| e.to_string())?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * PNG_SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET_ZONE, i / modules + QUIET_ZONE);
        for y in my * PNG_SCALE..(my + 1) * PNG_SCALE {
            pixels[y * side + mx * PNG_SCALE..y * side + (mx + 1) * PNG_SCALE].fill(0);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

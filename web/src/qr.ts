/** QR codes for the trust view, drawn by lean-qr as an SVG data: URL (the page's CSP allows data: images only). */
import { generate } from 'lean-qr';
import { toSvgDataURL } from 'lean-qr/extras/svg';

/** A data: URL of an SVG QR code of `text`. */
export function renderQr(text: string): string {
  return toSvgDataURL(generate(text), { on: 'black', off: 'white', pad: 4, scale: 4 });
}

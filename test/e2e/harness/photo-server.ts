import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A small JPEG-looking body (SOI … EOI) the fake Vinted stores byte for byte. */
export const PHOTO_BYTES = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2048, 7), Buffer.from([0xff, 0xd9])]);

export interface PhotoServer {
  /** http://127.0.0.1:<port>/photos/shirt.jpg (loopback, within the extension's host permissions). */
  url: string;
  close(): Promise<void>;
}

/**
 * Where a product photo is downloaded from (spec: "photo_url": "https://backend.com/photos/abc.jpg").
 * MarketHub has no photo endpoint of its own, so the tests serve one on loopback.
 */
export async function startPhotoServer(): Promise<PhotoServer> {
  const server: Server = createServer((req, res) => {
    if (req.url === "/photos/shirt.jpg") {
      res.writeHead(200, { "content-type": "image/jpeg" });
      return res.end(PHOTO_BYTES);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/photos/shirt.jpg`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

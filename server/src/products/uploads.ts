/**
 * Photo uploads in the two shapes clients have at hand: a dashboard's drag-and-drop sends
 * multipart/form-data (several files, in the order dropped); the extension or a script sends one
 * photo as the raw body (Content-Type: image/…). Multipart is parsed by the platform's own
 * Response.formData(), so no parser dependency is needed.
 */
import { AppError } from "../http/errors.js";
import type { RawUpload } from "../http/define-route.js";

export interface UploadedFile {
  /** The file's name in the form (multipart), for error messages. */
  name: string;
  bytes: Buffer;
}

export async function filesOf(upload: RawUpload): Promise<UploadedFile[]> {
  if (!/^multipart\/form-data/i.test(upload.contentType)) return [{ name: "body", bytes: upload.bytes }];
  let form: FormData;
  try {
    form = await new Response(upload.bytes, { headers: { "content-type": upload.contentType } }).formData();
  } catch {
    throw new AppError(400, "VALIDATION_ERROR", "Malformed multipart body.", { field_errors: { body: ["Malformed multipart/form-data body."] } });
  }
  const files: UploadedFile[] = [];
  for (const [, value] of form.entries()) {
    if (typeof value === "string") continue;
    files.push({ name: value.name || `file ${files.length + 1}`, bytes: Buffer.from(await value.arrayBuffer()) });
  }
  if (files.length === 0) {
    throw new AppError(400, "VALIDATION_ERROR", "No file in the multipart body.", { field_errors: { photos: ["Attach at least one image file."] } });
  }
  return files;
}

import { useEffect, useState } from "preact/hooks";
import type { Product } from "../../../../../shared/products";
import { ErrorBox, Section } from "../../components";
import { useI18n } from "../../i18n";
import { api } from "../../lib/api";
import { useAction } from "../../lib/hooks";

/** The product's photos: shown, deleted, and added by drag-and-drop or a file picker. */
export function PhotoGallery({ product, onChange }: { product: Product; onChange(p: Product): void }) {
  const { t } = useI18n();
  const action = useAction();
  const [progress, setProgress] = useState<string | null>(null);
  const reloadProduct = async () => onChange(await api.get<Product>(`/api/v1/products/${product.id}/`));
  const upload = (files: File[]) =>
    void action
      .run(async () => {
        const images = files.filter((f) => f.type.startsWith("image/"));
        if (images.length === 0) return;
        // One request per file so the seller sees each one land (the server also takes them all at once).
        for (const [i, file] of images.entries()) {
          setProgress(t("uploading", { done: i, total: images.length }));
          const form = new FormData();
          form.append("photos", file, file.name);
          await api.upload(`/api/v1/products/${product.id}/photos/`, form);
        }
        await reloadProduct();
      })
      .finally(() => setProgress(null));
  const remove = (photoId: string) =>
    void action.run(async () => {
      await api.delete(`/api/v1/products/${product.id}/photos/${photoId}/`);
      await reloadProduct();
    });
  return (
    <Section title={t("photos")}>
      <ErrorBox error={action.error} />
      <div class="thumbs">
        {product.photos.map((photo, i) => (
          <PhotoThumb key={photo.id} url={photo.url} index={i + 1} onDelete={() => remove(photo.id)} />
        ))}
      </div>
      <PhotoDropZone progress={progress} onFiles={upload} />
    </Section>
  );
}

function PhotoDropZone({ progress, onFiles }: { progress: string | null; onFiles(files: File[]): void }) {
  const { t } = useI18n();
  const [over, setOver] = useState(false);
  return (
    <div
      class={`dropzone${over ? " over" : ""}`}
      onDragOver={(e) => (e.preventDefault(), setOver(true))}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        onFiles([...(e.dataTransfer?.files ?? [])]);
      }}
    >
      <p>{progress ?? t("dropPhotos")}</p>
      <input id="photo-input" type="file" accept="image/*" multiple class="visually-hidden" onChange={(e) => onFiles([...(e.currentTarget.files ?? [])])} />
      <label for="photo-input" class="button">
        {t("choosePhotos")}
      </label>
    </div>
  );
}

/** The photo is fetched with the bearer token and shown as a data: URL (the CSP allows no blob:). */
function PhotoThumb({ url, index, onDelete }: { url: string; index: number; onDelete(): void }) {
  const { t } = useI18n();
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.imageDataUrl(url).then((data) => live && setSrc(data), () => undefined);
    return () => {
      live = false;
    };
  }, [url]);
  return (
    <figure class="thumb">
      {src ? <img src={src} alt={`${t("photos")} ${index}`} /> : <div class="thumb-placeholder" />}
      <button type="button" class="small" onClick={onDelete} aria-label={t("deletePhoto", { n: index })}>
        ×
      </button>
    </figure>
  );
}

/**
 * The dashboard's form controls: every control carries its visible label, so screens never repeat
 * the label-and-input markup (and axe finds no unlabelled control).
 */
import type { ComponentChildren } from "preact";

/** The input attributes screens use (preact types an input by the union of its kinds, which a spread cannot meet). */
interface InputProps {
  name?: string;
  type?: "text" | "number" | "url" | "password" | "search" | "email";
  required?: boolean;
  maxLength?: number;
  min?: string;
  step?: string;
  placeholder?: string;
  autoComplete?: string;
}

/** A labelled text-like input (text, number, url, password…) reporting its new value. */
export function Field({
  label,
  value,
  onValue,
  layout = "stacked",
  ...input
}: InputProps & { label: string; value: string; onValue(value: string): void; layout?: "stacked" | "inline" }) {
  return (
    <label class={layout === "inline" ? "inline-field" : "field"}>
      <span>{label}</span>
      <input {...(input as Record<string, unknown>)} value={value} onInput={(e) => onValue(e.currentTarget.value)} />
    </label>
  );
}

export function TextAreaField({ label, value, onValue, rows = 4 }: { label: string; value: string; onValue(value: string): void; rows?: number }) {
  return (
    <label class="field span-all">
      <span>{label}</span>
      <textarea rows={rows} value={value} onInput={(e) => onValue(e.currentTarget.value)} />
    </label>
  );
}

export interface Choice {
  value: string;
  label: string;
}

export function SelectField({ label, name, value, choices, onValue, required }: { label: string; name?: string; value: string; choices: Choice[]; onValue(value: string): void; required?: boolean }) {
  return (
    <label class="field">
      <span>{label}</span>
      <select name={name} value={value} required={required} onChange={(e) => onValue(e.currentTarget.value)}>
        {choices.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A fieldset of checkboxes choosing a set of values (marketplaces, webhook events). */
export function CheckboxGroup<T extends string | number>({
  legend,
  name,
  options,
  chosen,
  onChange,
  children,
}: {
  legend: string;
  name?: string;
  options: { value: T; label: string }[];
  chosen: ReadonlySet<T>;
  onChange(next: Set<T>): void;
  /** More controls in the same group (an option that is not part of the set). */
  children?: ComponentChildren;
}) {
  const toggle = (value: T, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(value);
    else next.delete(value);
    onChange(next);
  };
  return (
    <fieldset class="checks">
      <legend>{legend}</legend>
      {options.map((o) => (
        <label key={String(o.value)}>
          <input type="checkbox" name={name} value={String(o.value)} checked={chosen.has(o.value)} onChange={(e) => toggle(o.value, e.currentTarget.checked)} /> {o.label}
        </label>
      ))}
      {children}
    </fieldset>
  );
}

export function Checkbox({ label, checked, onChange }: { label: string; checked: boolean; onChange(checked: boolean): void }) {
  return (
    <label>
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.currentTarget.checked)} /> {label}
    </label>
  );
}

/** A form that never reloads the page: `onSubmit` gets the event already prevented. */
export function Form({ onSubmit, children, class: className, role }: { onSubmit(): void; children: ComponentChildren; class?: string; role?: "search" }) {
  return (
    <form
      class={className}
      role={role}
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      {children}
    </form>
  );
}

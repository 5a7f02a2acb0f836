// The launcher configuration editor: a form and Monaco's JSON editor over the same text, kept in
// sync both ways; the service validates (field errors by JSON pointer) and saves.

import Editor from '@monaco-editor/react';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { ConfigFieldError, ConfigValidation } from '../../../core/service/api';
import { ApiCallError, call, errorMessage } from '../api/client';
import { CONFIG_MODEL_PREFIX, EDITOR_THEME } from '../monaco-setup';

interface Props {
  /** The stored config being edited, or null for a new one. */
  id: string | null;
  running: boolean;
  onSaved(id: string): void;
  onDeleted(): void;
  onCancelNew(): void;
  /** Told whenever the text starts or stops differing from what is saved. */
  onDirtyChange(dirty: boolean): void;
}

type Draft = Record<string, unknown>;

const NEW_CONFIG = { name: 'new-machine', kernel: 'builtin:demo', memoryMB: 32, cmdline: '' };

function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

function parseDraft(text: string): Draft | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Draft) : null;
  } catch {
    return null;
  }
}

export function ConfigEditor({ id, running, onSaved, onDeleted, onCancelNew, onDirtyChange }: Props) {
  const [text, setText] = useState<string | null>(id === null ? pretty(NEW_CONFIG) : null);
  const [saved, setSaved] = useState<string | null>(null);
  const [validation, setValidation] = useState<ConfigValidation | null>(null);
  const [validatedText, setValidatedText] = useState<string | null>(null);
  const [saveErrors, setSaveErrors] = useState<ConfigFieldError[]>([]);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [saving, setSaving] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const seq = useRef(0);

  useEffect(() => {
    if (id === null) return;
    call('configs.read', { id }).then(
      (doc) => {
        setText(doc.text);
        setSaved(doc.text);
      },
      (err: unknown) => setMessage({ kind: 'error', text: `Could not read ${id}: ${errorMessage(err)}` }),
    );
  }, [id]);

  // Validate through the service (the same check that guards saving), debounced.
  useEffect(() => {
    if (text === null) return;
    const mine = ++seq.current;
    const timer = setTimeout(() => {
      call('configs.validate', { text, forId: id }).then(
        (v) => {
          if (mine !== seq.current) return;
          setValidation(v);
          setValidatedText(text);
        },
        (err: unknown) => setMessage({ kind: 'error', text: `Validation failed: ${errorMessage(err)}` }),
      );
    }, 120);
    return () => clearTimeout(timer);
  }, [text, id]);

  const draft = useMemo(() => (text === null ? null : parseDraft(text)), [text]);
  const errors = useMemo(() => [...(validation?.errors ?? []), ...saveErrors], [validation, saveErrors]);
  const upToDate = validatedText === text;
  const valid = upToDate && validation?.ok === true;
  const dirty = text !== saved;
  const canSave = valid && dirty && !saving;

  useEffect(() => {
    onDirtyChange(text !== null && dirty);
    return () => onDirtyChange(false);
  }, [dirty, text, onDirtyChange]);

  const errorsAt = (pointer: string): ConfigFieldError[] => errors.filter((e) => e.pointer === pointer);
  const FORM_POINTERS =
    /^\/(name|kernel|initrd|symbols|memoryMB|cmdline|blockDevices(\/\d+(\/(path|readOnly))?)?|networks(\/\d+)?)$/;
  const otherErrors = errors.filter((e) => !FORM_POINTERS.test(e.pointer));

  /** A form edit: change the parsed draft, write it back as the JSON text Monaco shows. */
  const edit = (change: (d: Draft) => void): void => {
    if (!draft) return;
    const next: Draft = structuredClone(draft);
    change(next);
    setSaveErrors([]);
    setMessage(null);
    setText(pretty(next));
  };
  const setOptional = (key: string, value: string): void =>
    edit((d) => {
      if (value === '') delete d[key];
      else d[key] = value;
    });

  const save = async (): Promise<void> => {
    if (!canSave || !validation?.config) return;
    setSaving(true);
    setMessage(null);
    try {
      const listing =
        id === null
          ? await call('configs.create', { config: validation.config })
          : await call('configs.save', { id, config: validation.config });
      const doc = await call('configs.read', { id: listing.id });
      setText(doc.text);
      setSaved(doc.text);
      setMessage({ kind: 'ok', text: `Saved ${listing.id}.` });
      onSaved(listing.id);
    } catch (err) {
      if (err instanceof ApiCallError && err.info.fields) setSaveErrors(err.info.fields);
      setMessage({ kind: 'error', text: `Not saved: ${errorMessage(err)}` });
    } finally {
      setSaving(false);
    }
  };

  const remove = async (): Promise<void> => {
    if (id === null) return onCancelNew();
    try {
      await call('configs.delete', { id });
      onDeleted();
    } catch (err) {
      setMessage({ kind: 'error', text: `Not deleted: ${errorMessage(err)}` });
    }
  };

  if (text === null) return <div className="empty">Loading…</div>;

  const str = (key: string): string => {
    const v = draft?.[key];
    return v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  };
  const disks = Array.isArray(draft?.blockDevices) ? (draft.blockDevices as unknown[]) : [];
  const nets = Array.isArray(draft?.networks) ? (draft.networks as unknown[]) : [];

  return (
    <div
      className="config-editor"
      onKeyDown={(e) => {
        if ((e.ctrlKey || e.metaKey) && e.key === 's') {
          e.preventDefault();
          void save();
        }
      }}
    >
      <div className="config-toolbar">
        <button
          className="button primary"
          disabled={!canSave}
          onClick={() => void save()}
          title={valid ? '' : 'Fix the errors first'}
        >
          {id === null ? 'Create' : 'Save'}
        </button>
        <button className="button" disabled={!dirty || saved === null} onClick={() => saved !== null && setText(saved)}>
          Revert
        </button>
        <span className="config-state">
          {!upToDate
            ? 'checking…'
            : valid
              ? dirty
                ? 'valid · unsaved changes'
                : 'valid · saved'
              : `${errors.length} problem${errors.length === 1 ? '' : 's'}`}
        </span>
        {message && (
          <span className={message.kind === 'ok' ? 'note-ok' : 'note-error'} role="status">
            {message.text}
          </span>
        )}
        <span className="spacer" />
        {running && id !== null && (
          <span className="muted">Running: saved changes apply at the next start or reset.</span>
        )}
        {confirmDelete ? (
          <>
            <span className="muted">{id === null ? 'Discard this new machine?' : `Delete ${id}?`}</span>
            <button className="button danger" onClick={() => void remove()}>
              {id === null ? 'Discard' : 'Delete'}
            </button>
            <button className="button" onClick={() => setConfirmDelete(false)}>
              Keep
            </button>
          </>
        ) : (
          <button
            className="button"
            disabled={running}
            title={running ? 'Stop the machine first' : ''}
            onClick={() => setConfirmDelete(true)}
          >
            {id === null ? 'Discard' : 'Delete…'}
          </button>
        )}
      </div>
      <div className="config-split">
        <form
          className="config-form"
          onSubmit={(e) => (e.preventDefault(), void save())}
          aria-label="Machine configuration"
        >
          {!draft && (
            <div className="banner banner-warn">The JSON does not parse; fix it in the editor to use the form.</div>
          )}
          {otherErrors.length > 0 && (
            <ul className="form-errors" data-testid="general-errors">
              {otherErrors.map((e, i) => (
                <li key={i}>
                  {e.pointer && <code>{e.pointer}</code>} {e.message}
                </li>
              ))}
            </ul>
          )}
          <fieldset disabled={!draft}>
            <Field
              label="Name"
              htmlFor="f-name"
              pointer="/name"
              errors={errorsAt('/name')}
              hint="Shown in the machine list; also the file name."
            >
              <input
                id="f-name"
                value={str('name')}
                onChange={(e) => edit((d) => (d.name = e.target.value))}
                spellCheck={false}
              />
            </Field>
            <Field
              label="Kernel image"
              htmlFor="f-kernel"
              pointer="/kernel"
              errors={errorsAt('/kernel')}
              hint="vmlinux or bzImage with the lguest marker, or builtin:demo."
            >
              <input
                id="f-kernel"
                value={str('kernel')}
                onChange={(e) => edit((d) => (d.kernel = e.target.value))}
                spellCheck={false}
                placeholder="/path/to/vmlinux"
              />
            </Field>
            <Field label="Initrd" htmlFor="f-initrd" pointer="/initrd" errors={errorsAt('/initrd')} hint="Optional.">
              <input
                id="f-initrd"
                value={str('initrd')}
                onChange={(e) => setOptional('initrd', e.target.value)}
                spellCheck={false}
                placeholder="(none)"
              />
            </Field>
            <Field
              label="Symbols"
              htmlFor="f-symbols"
              pointer="/symbols"
              errors={errorsAt('/symbols')}
              hint="Optional System.map or ELF for the debugger and profiler (default: the kernel's own)."
            >
              <input
                id="f-symbols"
                value={str('symbols')}
                onChange={(e) => setOptional('symbols', e.target.value)}
                spellCheck={false}
                placeholder="(the kernel's)"
              />
            </Field>
            <Field
              label="Memory (MB)"
              htmlFor="f-memory"
              pointer="/memoryMB"
              errors={errorsAt('/memoryMB')}
              hint="4 to 1024."
            >
              <input
                id="f-memory"
                type="number"
                value={str('memoryMB')}
                onChange={(e) =>
                  edit((d) => {
                    if (e.target.value === '') delete d.memoryMB;
                    else d.memoryMB = Number(e.target.value);
                  })
                }
              />
            </Field>
            <Field label="Kernel command line" htmlFor="f-cmdline" pointer="/cmdline" errors={errorsAt('/cmdline')}>
              <input
                id="f-cmdline"
                value={str('cmdline')}
                onChange={(e) => setOptional('cmdline', e.target.value)}
                spellCheck={false}
                placeholder="root=/dev/lgba"
              />
            </Field>

            <div className="field">
              <div className="field-label">Block devices</div>
              {errorsAt('/blockDevices').map((e, i) => (
                <div key={i} className="field-error">
                  {e.message}
                </div>
              ))}
              {disks.map((disk, i) => {
                const obj = (typeof disk === 'object' && disk !== null ? disk : {}) as Record<string, unknown>;
                const base = `/blockDevices/${i}`;
                const rowErrors = [...errorsAt(base), ...errorsAt(`${base}/path`), ...errorsAt(`${base}/readOnly`)];
                return (
                  <div key={i} className="list-row" data-testid={`disk-${i}`}>
                    <span className="list-index">lgb{String.fromCharCode(97 + i)}</span>
                    <input
                      aria-label={`Disk ${i + 1} image path`}
                      value={typeof obj.path === 'string' ? obj.path : ''}
                      placeholder="/path/to/disk.img"
                      className={rowErrors.length ? 'invalid' : ''}
                      onChange={(e) =>
                        edit((d) => ((d.blockDevices as Record<string, unknown>[])[i]!.path = e.target.value))
                      }
                    />
                    <label className="check">
                      <input
                        type="checkbox"
                        checked={obj.readOnly === true}
                        onChange={(e) =>
                          edit((d) => {
                            const dev = (d.blockDevices as Record<string, unknown>[])[i]!;
                            if (e.target.checked) dev.readOnly = true;
                            else delete dev.readOnly;
                          })
                        }
                      />
                      read-only
                    </label>
                    <button
                      type="button"
                      className="button small"
                      aria-label={`Remove disk ${i + 1}`}
                      onClick={() => edit((d) => removeListItem(d, 'blockDevices', i))}
                    >
                      Remove
                    </button>
                    {rowErrors.map((e, j) => (
                      <div key={j} className="field-error row-error">
                        {e.pointer.slice(base.length + 1) || 'disk'}: {e.message}
                      </div>
                    ))}
                  </div>
                );
              })}
              <button
                type="button"
                className="button small"
                onClick={() => edit((d) => appendListItem(d, 'blockDevices', () => ({ path: '' })))}
              >
                + Add disk
              </button>
            </div>

            <div className="field">
              <div className="field-label">Networks</div>
              {errorsAt('/networks').map((e, i) => (
                <div key={i} className="field-error">
                  {e.message}
                </div>
              ))}
              {nets.map((net, i) => {
                const rowErrors = errorsAt(`/networks/${i}`);
                return (
                  <div key={i} className="list-row" data-testid={`net-${i}`}>
                    <span className="list-index">net{i}</span>
                    <input
                      aria-label={`Network ${i + 1} name`}
                      value={typeof net === 'string' ? net : JSON.stringify(net)}
                      className={rowErrors.length ? 'invalid' : ''}
                      onChange={(e) => edit((d) => ((d.networks as unknown[])[i] = e.target.value))}
                    />
                    <button
                      type="button"
                      className="button small"
                      aria-label={`Leave network ${i + 1}`}
                      onClick={() => edit((d) => removeListItem(d, 'networks', i))}
                    >
                      Remove
                    </button>
                    {rowErrors.map((e, j) => (
                      <div key={j} className="field-error row-error">
                        {e.message}
                      </div>
                    ))}
                  </div>
                );
              })}
              <button
                type="button"
                className="button small"
                onClick={() => edit((d) => appendListItem(d, 'networks', (n) => `lan${n}`))}
              >
                + Join network
              </button>
            </div>
          </fieldset>
        </form>
        <div className="config-json" data-testid="json-editor">
          <Editor
            language="json"
            path={`${CONFIG_MODEL_PREFIX}${id ?? '(new)'}.json`}
            value={text}
            theme={EDITOR_THEME}
            onChange={(v) => {
              setSaveErrors([]);
              setText(v ?? '');
            }}
            loading={<div className="empty">Loading editor…</div>}
            options={{
              minimap: { enabled: false },
              fontSize: 13,
              tabSize: 2,
              scrollBeyondLastLine: false,
              automaticLayout: true,
              renderLineHighlight: 'line',
              fixedOverflowWidgets: true,
            }}
          />
        </div>
      </div>
    </div>
  );
}

function Field(props: {
  label: string;
  htmlFor: string;
  pointer: string;
  errors: ConfigFieldError[];
  hint?: string;
  children: React.ReactNode;
}) {
  const invalid = props.errors.length > 0;
  return (
    <div className={invalid ? 'field invalid' : 'field'} data-pointer={props.pointer}>
      <label className="field-label" htmlFor={props.htmlFor}>
        {props.label}
      </label>
      {props.children}
      {invalid ? (
        props.errors.map((e, i) => (
          <div key={i} className="field-error" role="alert">
            {e.message}
          </div>
        ))
      ) : props.hint ? (
        <div className="field-hint">{props.hint}</div>
      ) : null}
    </div>
  );
}

/** Removes item i of one of the config's lists, dropping the field when the list becomes empty. */
function removeListItem(d: Draft, key: 'blockDevices' | 'networks', i: number): void {
  const list = d[key] as unknown[];
  list.splice(i, 1);
  if (list.length === 0) delete d[key];
}

/** Appends a new item (made from the list's current length) to one of the config's lists. */
function appendListItem(d: Draft, key: 'blockDevices' | 'networks', make: (length: number) => unknown): void {
  const list = (Array.isArray(d[key]) ? d[key] : (d[key] = [])) as unknown[];
  list.push(make(list.length));
}

// Monaco, bundled locally (no CDN): the editor core with its contributions, the JSON language, and
// their web workers built by Vite; @monaco-editor/react is pointed at this copy.

import { loader } from '@monaco-editor/react';
import * as monaco from 'monaco-editor/esm/vs/editor/editor.api';
import 'monaco-editor/esm/vs/editor/editor.all.js';
import 'monaco-editor/esm/vs/language/json/monaco.contribution';
import EditorWorker from 'monaco-editor/esm/vs/editor/editor.worker?worker';
import JsonWorker from 'monaco-editor/esm/vs/language/json/json.worker?worker';
import type { JsonSchema } from '../../core/service/api';

self.MonacoEnvironment = {
  getWorker: (_moduleId: string, label: string) => (label === 'json' ? new JsonWorker() : new EditorWorker()),
};

loader.config({ monaco });

/** Monaco's dark theme on the workbench's own background, so the editor sits in the page. */
export const EDITOR_THEME = 'workbench-dark';
monaco.editor.defineTheme(EDITOR_THEME, {
  base: 'vs-dark',
  inherit: true,
  rules: [],
  colors: {
    'editor.background': '#0f1318',
    'editorGutter.background': '#0f1318',
    'editor.lineHighlightBackground': '#161c24',
    'editor.lineHighlightBorder': '#00000000',
    'editorLineNumber.foreground': '#4b5563',
    'editorLineNumber.activeForeground': '#9aa5b4',
  },
});

export const CONFIG_MODEL_PREFIX = 'inmemory://lguest/machines/';

/** Gives Monaco's JSON service the machine schema: completion, hovers and squiggles in config models. */
export function installMachineSchema(schema: JsonSchema): void {
  const { $id: _id, $schema: _draft, ...body } = schema;
  monaco.languages.json.jsonDefaults.setDiagnosticsOptions({
    validate: true,
    allowComments: false,
    enableSchemaRequest: false,
    // The service refuses to save what the schema rejects: show it as an error, not a warning.
    schemaValidation: 'error',
    schemas: [
      { uri: 'inmemory://lguest/machine-config.schema.json', fileMatch: [CONFIG_MODEL_PREFIX + '*'], schema: body },
    ],
  });
}

export { monaco };

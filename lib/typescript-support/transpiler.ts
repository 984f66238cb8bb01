import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { ModuleFormat } from './module-format.js';
import { projectConfigFor, type ProjectConfig } from './tsconfig.reader.js';

/** Compiles one TypeScript file to JavaScript of the given module format, with an inline source map. */
export interface Transpiler {
  /** `@swc/core` or `typescript`, and where it was found. */
  readonly compiler: string;
  transpile(source: string, file: string, format: ModuleFormat): string;
}

/**
 * The compilers we know how to drive, in the order they are tried. Neither is
 * a dependency of this package: the app's own copy is used, found from the
 * file being compiled, so the threads compile with what the project compiles
 * with.
 */
const COMPILERS = ['@swc/core', 'typescript'] as const;

const transpilers = new Map<string, Transpiler>();

/** Where the compiler for `file` is installed, without loading it; undefined when there is none. */
export function compilerPathFor(file: string): { compiler: (typeof COMPILERS)[number]; path: string } | undefined {
  const require = createRequire(file);
  for (const compiler of COMPILERS) {
    try {
      return { compiler, path: require.resolve(compiler) };
    } catch {
      // not installed where the file can see it
    }
  }
  return undefined;
}

/** The transpiler for `file`, or undefined when neither `@swc/core` nor `typescript` can be resolved from it. */
export function transpilerFor(file: string): Transpiler | undefined {
  const found = compilerPathFor(file);
  if (!found) return undefined;
  const { compiler, path } = found;
  const project = projectConfigFor(file);
  const key = `${path}\0${project.path ?? dirname(file)}`;
  let transpiler = transpilers.get(key);
  if (!transpiler) {
    const load = createRequire(file);
    transpiler =
      compiler === '@swc/core' ? swcTranspiler(load(path), path, project) : tscTranspiler(load(path), path, project);
    transpilers.set(key, transpiler);
  }
  return transpiler;
}

/** Decorator settings of the project; a file outside any project gets what Nest needs. */
function decoratorSettings(project: ProjectConfig): { legacy: boolean; metadata: boolean } {
  if (!project.path) return { legacy: true, metadata: true };
  return {
    legacy: project.compilerOptions.experimentalDecorators === true,
    metadata: project.compilerOptions.emitDecoratorMetadata === true,
  };
}

interface SwcModule {
  transformSync(source: string, options: Record<string, unknown>): { code: string };
}

const SWC_TARGETS = ['es5', 'es2015', 'es2016', 'es2017', 'es2018', 'es2019', 'es2020', 'es2021', 'es2022'];

function swcTranspiler(swc: SwcModule, path: string, project: ProjectConfig): Transpiler {
  const options = project.compilerOptions;
  const written = typeof options.target === 'string' ? options.target.toLowerCase() : 'es2022';
  const target = written === 'esnext' || SWC_TARGETS.includes(written) ? written : 'es2022';
  const decorators = decoratorSettings(project);
  const defineFields =
    typeof options.useDefineForClassFields === 'boolean'
      ? options.useDefineForClassFields
      : target === 'esnext' || target === 'es2022';
  return {
    compiler: `@swc/core (${path})`,
    transpile(source, file, format) {
      return swc.transformSync(source, {
        filename: file,
        swcrc: false,
        configFile: false,
        sourceMaps: 'inline',
        inlineSourcesContent: true,
        module: { type: format === 'module' ? 'es6' : 'commonjs' },
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          target,
          keepClassNames: true,
          transform: {
            legacyDecorator: decorators.legacy,
            ...(decorators.legacy ? {} : { decoratorVersion: '2022-03' }),
            decoratorMetadata: decorators.metadata,
            useDefineForClassFields: defineFields,
          },
        },
      }).code;
    },
  };
}

interface TypeScriptModule {
  convertCompilerOptionsFromJson(json: unknown, basePath: string): { options: Record<string, unknown> };
  transpileModule(
    source: string,
    options: { fileName: string; compilerOptions: Record<string, unknown>; reportDiagnostics?: boolean },
  ): { outputText: string };
  ModuleKind: { CommonJS: number; ESNext: number };
  ScriptTarget: { ES2022: number };
}

/** Options that only matter to a whole-program build, or that transpileModule() refuses in isolation. */
const PROGRAM_ONLY = [
  'baseUrl',
  'composite',
  'declaration',
  'declarationDir',
  'declarationMap',
  'emitDeclarationOnly',
  'incremental',
  'isolatedDeclarations',
  'lib',
  'mapRoot',
  'moduleResolution',
  'noEmit',
  'outDir',
  'outFile',
  'paths',
  'rootDir',
  'rootDirs',
  'sourceMap',
  'sourceRoot',
  'tsBuildInfoFile',
  'typeRoots',
  'types',
  'verbatimModuleSyntax',
];

function tscTranspiler(ts: TypeScriptModule, path: string, project: ProjectConfig): Transpiler {
  const decorators = decoratorSettings(project);
  const base: Record<string, unknown> = project.path
    ? { ...ts.convertCompilerOptionsFromJson(project.compilerOptions, dirname(project.path)).options }
    : { target: ts.ScriptTarget.ES2022 };
  for (const option of PROGRAM_ONLY) delete base[option];
  base.experimentalDecorators = decorators.legacy;
  base.emitDecoratorMetadata = decorators.metadata;
  base.inlineSourceMap = true;
  base.inlineSources = true;
  const byFormat = {
    module: { ...base, module: ts.ModuleKind.ESNext },
    commonjs: { ...base, module: ts.ModuleKind.CommonJS },
  };
  return {
    compiler: `typescript (${path})`,
    transpile(source, file, format) {
      return ts.transpileModule(source, { fileName: file, compilerOptions: byFormat[format], reportDiagnostics: false })
        .outputText;
    },
  };
}

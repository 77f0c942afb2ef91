import { createRequire } from "node:module";
import type { FastifyServerOptions } from "fastify";

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions["schemaController"]>["compilersFactory"]>;
type ValidatorFactory = NonNullable<CompilersFactory["buildValidator"]>;
type SerializerFactory = NonNullable<CompilersFactory["buildSerializer"]>;

/** Loads one of Fastify's own dependencies, resolved from fastify itself (they are not ours to depend on). */
function requireFromFastify(id: string): unknown {
  return createRequire(createRequire(import.meta.url).resolve("fastify"))(id);
}

/**
 * Fastify's default schema compilers (Ajv and fast-json-stringify), loaded when a route first
 * declares a schema rather than when the server is built: Fastify requires them, about 50 ms
 * of modules, in its constructor. Our routes validate bodies with zod and declare no Fastify
 * schema, so a server normally never loads them. The compilers are the ones Fastify would
 * have made; the only other effect of passing a factory, Fastify treating header schemas as
 * custom (not lower-casing their keys), touches no route here, none having a header schema.
 * One set per server, as Fastify makes them.
 */
export function lazySchemaCompilers(): Required<CompilersFactory> {
  let validatorFactory: ValidatorFactory | undefined;
  let serializerFactory: SerializerFactory | undefined;
  return {
    buildValidator: (externalSchemas, options) => {
      validatorFactory ??= (requireFromFastify("@fastify/ajv-compiler") as () => ValidatorFactory)();
      return validatorFactory(externalSchemas, options);
    },
    buildSerializer: (externalSchemas, options) => {
      serializerFactory ??= (requireFromFastify("@fastify/fast-json-stringify-compiler") as () => SerializerFactory)();
      return serializerFactory(externalSchemas, options);
    },
  };
}

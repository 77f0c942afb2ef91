// Batched embeddings over llama.cpp's public API.
//
// Why this exists: node-llama-cpp 3.21.1's embedding context evaluates one text at a time, and
// its native getEmbedding reads only sequence 0 (or the batch's last output), so several texts
// cannot share one llama_decode through it. llama.cpp itself can: one batch holds many
// sequences and llama_get_embeddings_seq / llama_get_embeddings_ith read each one's vector.
// This binding does only that. It is built against the llama.cpp release bundled in
// node-llama-cpp and links its prebuilt shared libraries, which node-llama-cpp has already
// loaded into the process (same sonames), so it shares their backends (CPU variants, GPUs).
//
// Every input is untrusted: counts, lengths and token ids are checked here before llama.cpp
// sees them, whatever the JavaScript side already checked.

#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "llama.h"

namespace {

// Handles are touched on the main thread only (jobs see copies of their pointers). A model is
// freed after the last of its contexts, whatever order JavaScript or the GC releases them in.
struct ModelHandle {
  llama_model* model = nullptr;
  uint32_t openContexts = 0;
  bool collected = false;  // its JavaScript value was garbage-collected
};

struct ContextHandle {
  llama_context* ctx = nullptr;
  ModelHandle* owner = nullptr;
  const llama_model* model = nullptr;
  int32_t dimensions = 0;
  uint32_t batchSize = 0;
  uint32_t sequences = 0;
  std::atomic<bool> busy{false};
};

#define NAPI_CALL(env, call)                                   \
  do {                                                         \
    if ((call) != napi_ok) {                                   \
      napi_throw_error((env), nullptr, "N-API call failed");   \
      return nullptr;                                          \
    }                                                          \
  } while (0)

napi_value throwError(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, message.c_str());
  return nullptr;
}

// Reads a call's arguments; false (with a JS error thrown) when fewer than `count` were given.
template <size_t count>
bool readArguments(napi_env env, napi_callback_info info, napi_value (&argv)[count], const char* usage) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < count) {
    napi_throw_error(env, nullptr, usage);
    return false;
  }
  return true;
}

bool getUint32Property(napi_env env, napi_value object, const char* name, uint32_t* out) {
  bool has = false;
  if (napi_has_named_property(env, object, name, &has) != napi_ok || !has) return false;
  napi_value value;
  if (napi_get_named_property(env, object, name, &value) != napi_ok) return false;
  double number = 0;
  if (napi_get_value_double(env, value, &number) != napi_ok) return false;
  if (!(number >= 0 && number <= 4294967295.0) || number != static_cast<double>(static_cast<uint32_t>(number))) return false;
  *out = static_cast<uint32_t>(number);
  return true;
}

bool getBoolProperty(napi_env env, napi_value object, const char* name, bool fallback) {
  bool has = false;
  if (napi_has_named_property(env, object, name, &has) != napi_ok || !has) return fallback;
  napi_value value;
  bool result = fallback;
  if (napi_get_named_property(env, object, name, &value) != napi_ok) return fallback;
  if (napi_get_value_bool(env, value, &result) != napi_ok) return fallback;
  return result;
}

template <typename T>
T* unwrapExternal(napi_env env, napi_value value) {
  void* data = nullptr;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external) return nullptr;
  if (napi_get_value_external(env, value, &data) != napi_ok) return nullptr;
  return static_cast<T*>(data);
}

// ---- async work plumbing: each job runs on libuv's pool and settles a promise ----

struct Job {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  napi_ref keepAlive = nullptr;  // the handle the job works on, kept from the GC while it runs
  std::string error;
  virtual ~Job() = default;
  virtual void run() = 0;
  virtual napi_value result(napi_env env) = 0;
};

void runJob(napi_env, void* data) {
  Job* job = static_cast<Job*>(data);
  try {
    job->run();
  } catch (const std::exception& error) {
    job->error = error.what();
  } catch (...) {
    job->error = "unknown native error";
  }
}

void settleJob(napi_env env, napi_status, void* data) {
  Job* job = static_cast<Job*>(data);
  napi_value value = nullptr;
  if (job->error.empty()) value = job->result(env);
  if (value != nullptr) {
    napi_resolve_deferred(env, job->deferred, value);
  } else {
    if (job->error.empty()) job->error = "could not build the result";
    napi_value message;
    napi_value error;
    napi_create_string_utf8(env, job->error.c_str(), NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, nullptr, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  if (job->keepAlive) napi_delete_reference(env, job->keepAlive);
  napi_delete_async_work(env, job->work);
  delete job;
}

napi_value queueJob(napi_env env, Job* job, const char* name, napi_value keepAlive) {
  napi_value promise;
  napi_value resourceName;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resourceName) != napi_ok ||
      (keepAlive != nullptr && napi_create_reference(env, keepAlive, 1, &job->keepAlive) != napi_ok) ||
      napi_create_async_work(env, nullptr, resourceName, runJob, settleJob, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    delete job;
    return throwError(env, std::string("could not start ") + name);
  }
  return promise;
}

// ---- loadModel(path, { gpuLayers }) -> Promise<External<ModelHandle>> ----

void finalizeModel(napi_env, void* data, void*) {
  ModelHandle* handle = static_cast<ModelHandle*>(data);
  handle->collected = true;
  if (handle->openContexts > 0) return;  // the last context frees it
  if (handle->model) llama_model_free(handle->model);
  delete handle;
}

void releaseOwner(ModelHandle* owner) {
  if (owner == nullptr) return;
  owner->openContexts--;
  if (owner->openContexts == 0 && owner->collected) {
    if (owner->model) llama_model_free(owner->model);
    delete owner;
  }
}

void releaseContext(ContextHandle* handle) {
  if (handle->ctx) llama_free(handle->ctx);
  handle->ctx = nullptr;
  releaseOwner(handle->owner);
  handle->owner = nullptr;
}

struct LoadModelJob : Job {
  std::string path;
  int32_t gpuLayers = 0;
  llama_model* model = nullptr;
  void run() override {
    llama_model_params params = llama_model_default_params();
    params.n_gpu_layers = gpuLayers;
    // Memory-mapped and not repacked: the weights stay the file's pages, which the page cache
    // shares with the generation model's own mapping instead of holding a second copy.
    params.load_mode = LLAMA_LOAD_MODE_MMAP;
    params.use_extra_bufts = false;
    model = llama_model_load_from_file(path.c_str(), params);
    if (model == nullptr) error = "llama.cpp could not load the model for batched embeddings";
  }
  napi_value result(napi_env env) override {
    ModelHandle* handle = new ModelHandle{model};
    model = nullptr;
    napi_value external;
    if (napi_create_external(env, handle, finalizeModel, nullptr, &external) != napi_ok) {
      finalizeModel(env, handle, nullptr);
      return nullptr;
    }
    return external;
  }
  ~LoadModelJob() override {
    if (model) llama_model_free(model);
  }
};

napi_value LoadModel(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!readArguments(env, info, argv, "loadModel(path, options) takes two arguments")) return nullptr;
  size_t length = 0;
  if (napi_get_value_string_utf8(env, argv[0], nullptr, 0, &length) != napi_ok) return throwError(env, "path must be a string");
  std::string path(length, '\0');
  NAPI_CALL(env, napi_get_value_string_utf8(env, argv[0], path.data(), length + 1, &length));
  uint32_t gpuLayers = 0;
  getUint32Property(env, argv[1], "gpuLayers", &gpuLayers);
  LoadModelJob* job = new LoadModelJob();
  job->path = path;
  job->gpuLayers = static_cast<int32_t>(std::min<uint32_t>(gpuLayers, INT32_MAX));
  return queueJob(env, job, "marduk.batchEmbedding.loadModel", nullptr);
}

// ---- createContext(model, options) -> Promise<{ context, dimensions, pooling }> ----

void finalizeContext(napi_env, void* data, void*) {
  ContextHandle* handle = static_cast<ContextHandle*>(data);
  releaseContext(handle);
  delete handle;
}

struct CreateContextJob : Job {
  ModelHandle* owner = nullptr;
  const llama_model* model = nullptr;
  uint32_t contextSize = 0;
  uint32_t sequences = 1;
  uint32_t threads = 1;
  bool ranking = false;
  llama_context* ctx = nullptr;
  void run() override {
    if (llama_model_has_encoder(model) && llama_model_has_decoder(model)) {
      // As node-llama-cpp: an encoder-decoder model's encoder output is no text embedding.
      error = "encoder-decoder models have no text embeddings";
      return;
    }
    llama_context_params params = llama_context_default_params();
    params.n_ctx = contextSize;
    // One decode holds as many tokens as the context: a text never spans decodes, which a
    // non-causal (BERT-style) model requires.
    params.n_batch = contextSize;
    params.n_ubatch = contextSize;
    params.n_seq_max = sequences;
    params.n_threads = static_cast<int32_t>(threads);
    params.n_threads_batch = static_cast<int32_t>(threads);
    params.embeddings = true;
    params.kv_unified = true;  // the texts of one decode share the context's cells
    params.no_perf = true;
    if (ranking) params.pooling_type = LLAMA_POOLING_TYPE_RANK;
    ctx = llama_init_from_model(const_cast<llama_model*>(model), params);
    if (ctx == nullptr) error = "llama.cpp could not create the batched embedding context";
  }
  napi_value result(napi_env env) override {
    const enum llama_pooling_type pooling = llama_pooling_type(ctx);
    const int32_t dimensions = pooling == LLAMA_POOLING_TYPE_RANK ? static_cast<int32_t>(llama_model_n_cls_out(model)) : llama_model_n_embd_out(model);
    if (dimensions <= 0) {
      error = pooling == LLAMA_POOLING_TYPE_RANK ? "the model has no ranking head" : "the model has no embedding output";
      return nullptr;
    }
    ContextHandle* handle = new ContextHandle();
    handle->ctx = ctx;
    handle->owner = owner;  // counted when the job was queued
    owner = nullptr;
    handle->model = model;
    handle->dimensions = dimensions;
    handle->batchSize = llama_n_batch(ctx);
    handle->sequences = llama_n_seq_max(ctx);
    ctx = nullptr;
    napi_value object, external, dimensionsValue, sequencesValue, batchValue;
    if (napi_create_external(env, handle, finalizeContext, nullptr, &external) != napi_ok) {
      finalizeContext(env, handle, nullptr);
      return nullptr;
    }
    if (napi_create_object(env, &object) != napi_ok ||
        napi_create_int32(env, dimensions, &dimensionsValue) != napi_ok ||
        napi_create_uint32(env, handle->sequences, &sequencesValue) != napi_ok ||
        napi_create_uint32(env, handle->batchSize, &batchValue) != napi_ok ||
        napi_set_named_property(env, object, "context", external) != napi_ok ||
        napi_set_named_property(env, object, "dimensions", dimensionsValue) != napi_ok ||
        napi_set_named_property(env, object, "sequences", sequencesValue) != napi_ok ||
        napi_set_named_property(env, object, "batchSize", batchValue) != napi_ok) {
      return nullptr;
    }
    return object;
  }
  ~CreateContextJob() override {
    if (ctx) llama_free(ctx);
    releaseOwner(owner);  // the job failed: no context holds the model
  }
};

napi_value CreateContext(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!readArguments(env, info, argv, "createContext(model, options) takes two arguments")) return nullptr;
  ModelHandle* model = unwrapExternal<ModelHandle>(env, argv[0]);
  if (model == nullptr || model->model == nullptr) return throwError(env, "not a loaded model");
  uint32_t contextSize = 0, sequences = 0, threads = 0;
  if (!getUint32Property(env, argv[1], "contextSize", &contextSize) || contextSize < 8 || contextSize > (1u << 20)) {
    return throwError(env, "contextSize must be an integer from 8 to 2^20");
  }
  if (!getUint32Property(env, argv[1], "sequences", &sequences) || sequences < 1 || sequences > 256) {
    return throwError(env, "sequences must be an integer from 1 to 256");
  }
  if (!getUint32Property(env, argv[1], "threads", &threads) || threads < 1 || threads > 1024) {
    return throwError(env, "threads must be an integer from 1 to 1024");
  }
  // llama.cpp keeps at least one output per sequence within the batch, and asserts on more.
  if (sequences > contextSize) return throwError(env, "sequences must not exceed contextSize");
  CreateContextJob* job = new CreateContextJob();
  job->model = model->model;
  job->contextSize = contextSize;
  job->sequences = sequences;
  job->threads = threads;
  job->ranking = getBoolProperty(env, argv[1], "ranking", false);
  job->owner = model;
  model->openContexts++;  // the model cannot be freed while its context is being made
  return queueJob(env, job, "marduk.batchEmbedding.createContext", argv[0]);
}

// ---- embed(context, tokens: Int32Array, lengths: Uint32Array) -> Promise<Float32Array> ----

struct EmbedJob : Job {
  ContextHandle* handle = nullptr;
  std::vector<llama_token> tokens;
  std::vector<uint32_t> lengths;
  std::vector<float> vectors;
  uint32_t decodes = 0;

  void run() override {
    llama_context* ctx = handle->ctx;
    const llama_model* model = handle->model;
    const bool pooled = llama_pooling_type(ctx) != LLAMA_POOLING_TYPE_NONE;
    const bool encoderOnly = llama_model_has_encoder(model) && !llama_model_has_decoder(model);
    const size_t dimensions = static_cast<size_t>(handle->dimensions);
    vectors.assign(lengths.size() * dimensions, 0.0f);
    llama_batch batch = llama_batch_init(static_cast<int32_t>(handle->batchSize), 0, 1);
    size_t text = 0;
    size_t offset = 0;
    while (text < lengths.size()) {
      // Pack as many whole texts as the batch and the sequence count allow into one decode.
      const size_t first = text;
      batch.n_tokens = 0;
      while (text < lengths.size() && text - first < handle->sequences && batch.n_tokens + lengths[text] <= handle->batchSize) {
        const llama_seq_id sequence = static_cast<llama_seq_id>(text - first);
        for (uint32_t position = 0; position < lengths[text]; position++) {
          const int32_t index = batch.n_tokens++;
          batch.token[index] = tokens[offset + position];
          batch.pos[index] = static_cast<llama_pos>(position);
          batch.n_seq_id[index] = 1;
          batch.seq_id[index][0] = sequence;
          // An embedding context outputs every token whatever is asked (llama.cpp warns when
          // told otherwise); a text's vector is read below by sequence or by its last token.
          batch.logits[index] = true;
        }
        offset += lengths[text];
        text++;
      }
      if (text == first) {
        llama_batch_free(batch);
        error = "a text is longer than the batch";
        return;
      }
      llama_memory_t memory = llama_get_memory(ctx);
      if (memory) llama_memory_clear(memory, true);
      const int32_t status = encoderOnly ? llama_encode(ctx, batch) : llama_decode(ctx, batch);
      decodes++;
      if (status != 0) {
        llama_batch_free(batch);
        error = "llama.cpp could not evaluate the batch (status " + std::to_string(status) + ")";
        return;
      }
      size_t lastIndex = 0;
      for (size_t current = first; current < text; current++) {
        const llama_seq_id sequence = static_cast<llama_seq_id>(current - first);
        lastIndex += lengths[current];
        const float* vector = pooled ? llama_get_embeddings_seq(ctx, sequence) : llama_get_embeddings_ith(ctx, static_cast<int32_t>(lastIndex - 1));
        if (vector == nullptr) {
          llama_batch_free(batch);
          error = "llama.cpp returned no embedding for text " + std::to_string(current);
          return;
        }
        std::memcpy(vectors.data() + current * dimensions, vector, dimensions * sizeof(float));
      }
    }
    llama_batch_free(batch);
  }

  napi_value result(napi_env env) override {
    napi_value arrayBuffer, typedArray, object, decodesValue;
    void* data = nullptr;
    if (napi_create_arraybuffer(env, vectors.size() * sizeof(float), &data, &arrayBuffer) != napi_ok) return nullptr;
    if (!vectors.empty()) std::memcpy(data, vectors.data(), vectors.size() * sizeof(float));
    if (napi_create_typedarray(env, napi_float32_array, vectors.size(), arrayBuffer, 0, &typedArray) != napi_ok ||
        napi_create_object(env, &object) != napi_ok ||
        napi_create_uint32(env, decodes, &decodesValue) != napi_ok ||
        napi_set_named_property(env, object, "vectors", typedArray) != napi_ok ||
        napi_set_named_property(env, object, "decodes", decodesValue) != napi_ok) {
      return nullptr;
    }
    return object;
  }

  ~EmbedJob() override {
    if (handle) handle->busy.store(false);
  }
};

bool readTypedArray(napi_env env, napi_value value, napi_typedarray_type expected, void** data, size_t* length) {
  bool isTypedArray = false;
  if (napi_is_typedarray(env, value, &isTypedArray) != napi_ok || !isTypedArray) return false;
  napi_typedarray_type type;
  napi_value buffer;
  size_t byteOffset = 0;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &byteOffset) != napi_ok) return false;
  return type == expected;
}

napi_value Embed(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!readArguments(env, info, argv, "embed(context, tokens, lengths) takes three arguments")) return nullptr;
  ContextHandle* handle = unwrapExternal<ContextHandle>(env, argv[0]);
  if (handle == nullptr || handle->ctx == nullptr) return throwError(env, "not a live embedding context");
  void* tokenData = nullptr;
  void* lengthData = nullptr;
  size_t tokenCount = 0;
  size_t textCount = 0;
  if (!readTypedArray(env, argv[1], napi_int32_array, &tokenData, &tokenCount)) return throwError(env, "tokens must be an Int32Array");
  if (!readTypedArray(env, argv[2], napi_uint32_array, &lengthData, &textCount)) return throwError(env, "lengths must be a Uint32Array");
  if (textCount == 0) return throwError(env, "no texts to embed");
  const int32_t vocabulary = llama_vocab_n_tokens(llama_model_get_vocab(handle->model));
  const int32_t* tokens = static_cast<const int32_t*>(tokenData);
  const uint32_t* lengths = static_cast<const uint32_t*>(lengthData);
  uint64_t total = 0;
  for (size_t index = 0; index < textCount; index++) {
    if (lengths[index] == 0 || lengths[index] > handle->batchSize) return throwError(env, "text " + std::to_string(index) + " has no tokens or more than the batch holds");
    total += lengths[index];
  }
  if (total != tokenCount) return throwError(env, "the lengths do not add up to the token count");
  for (size_t index = 0; index < tokenCount; index++) {
    if (tokens[index] < 0 || tokens[index] >= vocabulary) return throwError(env, "token " + std::to_string(index) + " is not in the vocabulary");
  }
  bool expected = false;
  if (!handle->busy.compare_exchange_strong(expected, true)) return throwError(env, "the embedding context is busy");
  EmbedJob* job = new EmbedJob();
  job->handle = handle;
  job->tokens.assign(tokens, tokens + tokenCount);
  job->lengths.assign(lengths, lengths + textCount);
  return queueJob(env, job, "marduk.batchEmbedding.embed", argv[0]);
}

// ---- free(handle): releases a model or a context now rather than at garbage collection ----

napi_value FreeContext(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!readArguments(env, info, argv, "freeContext(context) takes one argument")) return nullptr;
  ContextHandle* handle = unwrapExternal<ContextHandle>(env, argv[0]);
  if (handle == nullptr) return throwError(env, "not an embedding context");
  if (handle->busy.load()) return throwError(env, "the embedding context is busy");
  releaseContext(handle);
  return nullptr;
}

napi_value FreeModel(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!readArguments(env, info, argv, "freeModel(model) takes one argument")) return nullptr;
  ModelHandle* handle = unwrapExternal<ModelHandle>(env, argv[0]);
  if (handle == nullptr) return throwError(env, "not a model");
  if (handle->openContexts > 0) return throwError(env, "free the model's contexts first");
  if (handle->model) llama_model_free(handle->model);
  handle->model = nullptr;
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor properties[] = {
      {"loadModel", nullptr, LoadModel, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"createContext", nullptr, CreateContext, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"embed", nullptr, Embed, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"freeContext", nullptr, FreeContext, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"freeModel", nullptr, FreeModel, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)

namespace Elmo.Server;

/// <summary>The OpenAPI 3.1 description of the server, served at <c>GET /openapi.json</c> (written by hand: no reflection).</summary>
internal static class OpenApiDocument
{
    /// <summary>The document; <c>{version}</c> is replaced by the tool's version.</summary>
    public const string Template = """
        {
          "openapi": "3.1.0",
          "info": {
            "title": "elmo serve",
            "version": "{version}",
            "description": "ELMo embeddings over HTTP. Concurrent requests are batched together; each answer is bit for bit what `elmo embed` gives for the same sentences with the same model and state mode, whatever else was sent at the same time. Every error is an RFC 9457 problem body (application/problem+json) naming the field at fault."
          },
          "paths": {
            "/v1/embed": {
              "post": {
                "summary": "Embed sentences",
                "description": "The body is read as JSON whatever its Content-Type. With `Accept: application/x-npy` the answer is one NumPy .npy float32 array per sentence, one after the other in request order (read them with repeated numpy.load calls on one file object); otherwise JSON.",
                "security": [{ "bearer": [] }, { "apiKey": [] }, {}],
                "requestBody": {
                  "required": true,
                  "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EmbedRequest" } } }
                },
                "responses": {
                  "200": {
                    "description": "One result per sentence, in request order.",
                    "content": {
                      "application/json": { "schema": { "$ref": "#/components/schemas/EmbedResponse" } },
                      "application/x-npy": { "schema": { "type": "string", "format": "binary", "description": "Concatenated .npy arrays (version 1.0, '<f4', C order), one per sentence." } }
                    }
                  },
                  "400": { "$ref": "#/components/responses/Problem" },
                  "401": { "$ref": "#/components/responses/Problem" },
                  "406": { "$ref": "#/components/responses/Problem" },
                  "408": { "$ref": "#/components/responses/Problem" },
                  "413": { "$ref": "#/components/responses/Problem" },
                  "422": { "$ref": "#/components/responses/Problem" },
                  "503": {
                    "description": "The queue is full (or the server is stopping): retry after the number of seconds in Retry-After.",
                    "headers": { "Retry-After": { "schema": { "type": "integer" } } },
                    "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
                  }
                }
              }
            },
            "/v1/model": {
              "get": {
                "summary": "The model, its state mode and warm-state fingerprint, the limits and the tool version",
                "security": [{ "bearer": [] }, { "apiKey": [] }, {}],
                "responses": {
                  "200": { "description": "The model.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Model" } } } },
                  "401": { "$ref": "#/components/responses/Problem" }
                }
              }
            },
            "/healthz": {
              "get": {
                "summary": "Liveness: the process answers",
                "responses": { "200": { "description": "Alive.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Status" } } } } }
              }
            },
            "/readyz": {
              "get": {
                "summary": "Readiness: the model and its warm state are loaded and the server is not stopping",
                "responses": {
                  "200": { "description": "Ready.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Status" } } } },
                  "503": { "description": "Stopping.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Status" } } } }
                }
              }
            },
            "/metrics": {
              "get": {
                "summary": "Prometheus metrics: requests by status, latency histogram, batch sizes, queue depth, tokens/s, refused requests",
                "security": [{ "bearer": [] }, { "apiKey": [] }, {}],
                "responses": {
                  "200": { "description": "Prometheus text format 0.0.4.", "content": { "text/plain": { "schema": { "type": "string" } } } },
                  "401": { "$ref": "#/components/responses/Problem" }
                }
              }
            },
            "/openapi.json": {
              "get": {
                "summary": "This document",
                "responses": { "200": { "description": "OpenAPI 3.1.", "content": { "application/json": { "schema": { "type": "object" } } } } }
              }
            }
          },
          "components": {
            "securitySchemes": {
              "bearer": { "type": "http", "scheme": "bearer", "description": "Needed only when the server was started with --api-key-file." },
              "apiKey": { "type": "apiKey", "in": "header", "name": "X-API-Key", "description": "Needed only when the server was started with --api-key-file." }
            },
            "responses": {
              "Problem": {
                "description": "An RFC 9457 problem naming the field at fault.",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              }
            },
            "schemas": {
              "EmbedRequest": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "sentences": {
                    "type": "array", "minItems": 1,
                    "items": { "type": "array", "items": { "type": "string" } },
                    "description": "Tokenised sentences (as a .jsonl input of elmo embed). Give this or texts."
                  },
                  "texts": {
                    "type": "array", "minItems": 1,
                    "items": { "type": "string" },
                    "description": "Sentences as text, split on white space (as a .txt input of elmo embed). Give this or sentences."
                  },
                  "output": {
                    "description": "What to return per sentence (default all): all layers (L+1, T, 2P), the top layer, the mean of the layers, or a fixed scalar mix gamma * sum(softmax(mix)_l * layer_l), each (T, 2P).",
                    "oneOf": [
                      { "type": "string", "enum": ["all", "top", "average"] },
                      {
                        "type": "object", "additionalProperties": false, "required": ["mix"],
                        "properties": {
                          "mix": { "type": "array", "items": { "type": "number" }, "description": "One pre-softmax weight per layer (L+1)." },
                          "gamma": { "type": "number", "default": 1 }
                        }
                      }
                    ]
                  }
                },
                "example": { "sentences": [["Hello", "world"]], "output": "top" }
              },
              "EmbedResponse": {
                "type": "object",
                "properties": {
                  "embeddings": { "type": "array", "items": { "type": "array" }, "description": "Per sentence, nested arrays of shape (L+1, T, 2P) for all, (T, 2P) otherwise. Floats in shortest round-trip form: they parse back to the same float32." },
                  "shapes": { "type": "array", "items": { "type": "array", "items": { "type": "integer" } } }
                }
              },
              "Model": {
                "type": "object",
                "properties": {
                  "model": { "type": "string" },
                  "version": { "type": "string" },
                  "state_mode": { "type": "string", "enum": ["warm", "stateless"] },
                  "state": { "type": "string" },
                  "warm_state_fingerprint": { "type": ["string", "null"], "description": "First 16 hex digits of the SHA-256 of the warm state's float32 values." },
                  "output_layers": { "type": "integer" },
                  "output_dim": { "type": "integer" },
                  "parameters": { "type": "integer" },
                  "architecture": { "type": "object", "description": "The options JSON (bilm-tf layout)." },
                  "outputs": { "type": "array", "items": { "type": "string" } },
                  "limits": { "type": "object" },
                  "batching": { "type": "object" },
                  "load_seconds": { "type": "number" }
                }
              },
              "Status": {
                "type": "object",
                "properties": { "status": { "type": "string", "enum": ["alive", "ready", "draining"] } }
              },
              "Problem": {
                "type": "object",
                "properties": {
                  "type": { "type": "string" },
                  "title": { "type": "string" },
                  "status": { "type": "integer" },
                  "detail": { "type": "string" },
                  "field": { "type": "string", "description": "The request field at fault, e.g. sentences[3][2], output.mix, body." },
                  "instance": { "type": "string" }
                }
              }
            }
          }
        }
        """;
}

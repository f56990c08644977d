using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Text.Json;
using Elmo.Core;

namespace Elmo.Server;

/// <summary>
/// Writes the answer of <c>POST /v1/embed</c>, sentence by sentence, flushing after each so that memory holds the
/// results and at most one sentence's encoding, never a whole encoded response.
/// </summary>
/// <remarks>
/// <para>JSON: <c>{"embeddings": [...], "shapes": [...]}</c>, one entry per sentence in request order, each a nested
/// array of shape <c>(L+1, T, 2P)</c> for <c>all</c> and <c>(T, 2P)</c> otherwise (the HDF5 datasets of
/// <c>elmo embed</c>). Floats are written in their shortest round-trip form: parsed back as float32, or as a double
/// then rounded to float32 (<c>numpy.float32(json.loads(...))</c>), they give the same bits.</para>
/// <para><c>application/x-npy</c>: one <c>.npy</c> array per sentence (<see cref="NpyWriter"/>), one after the
/// other, in request order.</para>
/// </remarks>
internal static class EmbedResponseWriter
{
    /// <summary>The media type of the <c>.npy</c> answer.</summary>
    public const string NpyMediaType = "application/x-npy";

    /// <summary>Whether every value is finite (a mix whose gamma overflows float32 is not, and is refused as <c>elmo embed</c> refuses it).</summary>
    public static bool AllFinite(IReadOnlyList<SentenceEmbedding> embeddings)
    {
        foreach (var e in embeddings)
        {
            foreach (float v in e.Values)
            {
                if (!float.IsFinite(v)) return false;
            }
        }
        return true;
    }

    /// <summary>Writes the JSON answer.</summary>
    public static async Task WriteJsonAsync(PipeWriter body, IReadOnlyList<SentenceEmbedding> embeddings, CancellationToken cancellationToken)
    {
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("embeddings");
            foreach (var e in embeddings)
            {
                WriteSentence(writer, e);
                writer.Flush();
                await body.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            writer.WriteEndArray();
            writer.WriteStartArray("shapes");
            foreach (var e in embeddings)
            {
                writer.WriteStartArray();
                foreach (int n in e.Shape) writer.WriteNumberValue(n);
                writer.WriteEndArray();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        await body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The length of the <c>.npy</c> answer.</summary>
    public static long NpyLength(IReadOnlyList<SentenceEmbedding> embeddings) =>
        embeddings.Sum(e => NpyWriter.Header(e.Shape).Length + 4L * e.Values.Length);

    /// <summary>Writes the <c>.npy</c> answer.</summary>
    public static async Task WriteNpyAsync(PipeWriter body, IReadOnlyList<SentenceEmbedding> embeddings, CancellationToken cancellationToken)
    {
        foreach (var e in embeddings)
        {
            body.Write(NpyWriter.Header(e.Shape));
            NpyWriter.WriteValues(body, e.Values);
            await body.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static void WriteSentence(Utf8JsonWriter writer, SentenceEmbedding e)
    {
        // (L+1, T, 2P): an array of layers, each an array of tokens; (T, 2P): an array of tokens.
        writer.WriteStartArray();
        if (e.HasLayerAxis)
        {
            for (int l = 0; l < e.LayerCount; l++)
            {
                writer.WriteStartArray();
                for (int t = 0; t < e.TokenCount; t++) WriteVector(writer, e.Vector(l, t));
                writer.WriteEndArray();
            }
        }
        else
        {
            for (int t = 0; t < e.TokenCount; t++) WriteVector(writer, e.Vector(0, t));
        }
        writer.WriteEndArray();
    }

    private static void WriteVector(Utf8JsonWriter writer, ReadOnlySpan<float> vector)
    {
        writer.WriteStartArray();
        foreach (float v in vector) writer.WriteNumberValue(v);
        writer.WriteEndArray();
    }
}

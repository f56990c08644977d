namespace Elmo.Core;

/// <summary>
/// The first pass of <see cref="CorpusEmbedder"/>: reads the whole input, checks every line and every dataset name
/// before anything is computed, and measures what one output file (the whole input, or one part) will hold.
/// </summary>
internal static class CorpusScanner
{
    /// <summary>Scans <paramref name="input"/> for the file <paramref name="settings"/> describe.</summary>
    /// <param name="input">The input.</param>
    /// <param name="settings">Layout, keys, shard.</param>
    /// <param name="bytesPerToken">Output bytes per token.</param>
    /// <param name="cancellationToken">Checked every 65,536 sentences.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="ElmoInputException">A bad line, a dataset name that is taken or cannot be one.</exception>
    public static CorpusPlan Scan(CorpusInput input, EmbedSettings settings, long bytesPerToken, CancellationToken cancellationToken)
    {
        long totalWeight = 0, totalSentences = 0;
        InputFingerprint? survey = null;
        if (settings.Shard is { } shard)
        {
            // A part's range depends on the whole input's token count: one pass to measure it.
            survey = new InputFingerprint();
            foreach (var s in input.Read(survey))
            {
                if ((totalSentences++ & 0xFFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
                totalWeight += s.Tokens.Count + 2;
            }
        }

        var keys = settings.UseSentenceKeys ? new SentenceKeys() : null;
        var index = !settings.UseSentenceKeys && !settings.ForgetSentences ? new SentenceIndexMap() : null;
        var fingerprint = new InputFingerprint();
        long i = 0, weight = 0, first = -1, count = 0, tokens = 0, inputTokens = 0, dataBytes = 0;
        int longest = 0;
        foreach (var s in input.Read(fingerprint))
        {
            if ((i & 0xFFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            int part = settings.Shard is { } sh ? ShardSpec.PartOf(weight, totalWeight, sh.Count) : 1;
            int mine = settings.Shard?.Index ?? 1;
            if (part == mine)
            {
                if (first < 0) first = i;
                if (keys is not null)
                {
                    CheckKey(input, s);
                    if (!keys.TryAdd(s.Text, count, s.LineNumber, out var earlier)) throw Taken(input, s, earlier.Line, earlier.Lossy);
                }
                index?.Add(s.Text, i);
                count++;
                tokens += s.Tokens.Count;
                dataBytes += s.Tokens.Count * bytesPerToken;
                longest = Math.Max(longest, s.Tokens.Count);
            }
            else if (part > mine)
            {
                if (keys is not null && keys.Collides(s.Text, out var inside)) throw Taken(input, s, inside.Line, inside.Lossy);
                index?.SeenAfter(s.Text, i);
            }
            weight += s.Tokens.Count + 2;
            inputTokens += s.Tokens.Count;
            i++;
        }
        if (survey is not null && (survey.Bytes != fingerprint.Bytes || survey.Hash != fingerprint.Hash || i != totalSentences)) throw Changed(input);
        if (first < 0) first = FirstOfEmptyPart(settings.Shard, i, totalWeight, input);

        if (first > 0 && (keys is not null || index is not null))
        {
            // Sentences before the part: a name they take is a duplicate, a sentence they hold is an earlier part's entry.
            long j = 0;
            foreach (var s in input.Read())
            {
                if (j++ == first) break;
                if ((j & 0xFFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
                if (keys is not null && keys.Collides(s.Text, out var inside)) throw Taken(input, s, inside.Line, inside.Lossy);
                index?.SeenBefore(s.Text);
            }
        }
        if (keys is not null)
        {
            var duplicate = keys.Sort();
            if (duplicate is { } d) throw new ElmoInputException($"Input '{input.Name}', lines {d.First} and {d.Second} give the same HDF5 dataset name; --use-sentence-keys needs every sentence to be unique (leave it out to key by line index).") { FilePath = input.Name, LineNumber = d.Second };
        }

        return new CorpusPlan
        {
            InputSentences = i,
            InputTokens = inputTokens,
            Fingerprint = fingerprint,
            First = first,
            Count = count,
            Tokens = tokens,
            Longest = longest,
            DataBytes = dataBytes,
            Keys = keys,
            Index = index,
        };
    }

    /// <summary>Where an empty part sits: after every sentence of the parts before it.</summary>
    private static long FirstOfEmptyPart(ShardSpec? shard, long sentences, long totalWeight, CorpusInput input)
    {
        if (shard is null || sentences == 0) return 0;
        // Parts are contiguous and in order; an empty part K starts where the first sentence of a part > K would.
        long i = 0, weight = 0;
        foreach (var s in input.Read())
        {
            if (ShardSpec.PartOf(weight, totalWeight, shard.Count) > shard.Index) return i;
            weight += s.Tokens.Count + 2;
            i++;
        }
        return i;
    }

    /// <summary>HDF5 link names cannot be empty or contain '/' (h5py would create groups) or NUL, and "." names the group itself.</summary>
    private static void CheckKey(CorpusInput input, InputSentence s)
    {
        if (s.Text.Length == 0 || s.Text.Contains('/') || s.Text.Contains('\0') || s.Text == ".")
        {
            throw new ElmoInputException(
                $"Input '{input.Name}', line {s.LineNumber}: the sentence \"{Shorten(s.Text)}\" cannot be an HDF5 dataset name (it is empty, or '/' separates groups, or '.' is the group itself); leave out --use-sentence-keys to key by line index.")
            {
                FilePath = input.Name,
                LineNumber = s.LineNumber,
            };
        }
    }

    private static ElmoInputException Taken(CorpusInput input, InputSentence s, long earlierLine, bool lossy)
    {
        (long a, long b) = earlierLine < s.LineNumber ? (earlierLine, s.LineNumber) : (s.LineNumber, earlierLine);
        string what = lossy
            ? $"line {b} gives the same HDF5 dataset name as line {a} (\"{Shorten(s.Text)}\"): names are stored as UTF-8, where a lone surrogate becomes U+FFFD"
            : $"line {b} repeats the sentence of line {a} (\"{Shorten(s.Text)}\")";
        return new ElmoInputException($"Input '{input.Name}', {what}; --use-sentence-keys needs every sentence to be unique (leave it out to key by line index).")
        {
            FilePath = input.Name,
            LineNumber = b,
        };
    }

    /// <summary>The input read differently from one pass to the next.</summary>
    public static ElmoInputException Changed(CorpusInput input, long? line = null) =>
        new($"Input '{input.Name}' changed while it was being embedded{(line is null ? "" : $" (at line {line})")}; no output was written.") { FilePath = input.Name, LineNumber = line };

    private static string Shorten(string s) => s.Length <= 60 ? s : s[..57] + "...";
}

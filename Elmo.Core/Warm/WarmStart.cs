using PureHDF;

namespace Elmo.Core;

/// <summary>
/// Warm states: the LSTM state after running a warm-up text through the stateful biLM one sentence at a
/// time (batch size 1, one continuous row). Every sentence in <see cref="StateMode.Warm"/> mode starts from
/// it, so a sentence enters the biLM after a sentence end, as in training, and results stay deterministic.
/// </summary>
public static class WarmStart
{
    /// <summary>
    /// The built-in warm-up text: ordinary English sentences written for this project, whitespace-tokenised.
    /// </summary>
    public static IReadOnlyList<string> BuiltInText { get; } =
    [
        "The morning train was late again , so most of the passengers waited on the platform .",
        "She opened the window and listened to the rain falling on the roof .",
        "Our team finished the report on Friday and sent it to the committee .",
        "The museum will be closed on Monday for repairs to the heating system .",
        "He bought bread , cheese and a few apples at the market near the station .",
        "Scientists say the new bridge should last for at least a hundred years .",
        "After dinner , the children played cards while their parents talked in the kitchen .",
        "The city council voted to build a park on the site of the old factory .",
        "Prices rose slightly last month , mostly because of higher energy costs .",
        "I forgot my umbrella at the office , so I got wet on the way home .",
        "The river flooded the lower fields after three days of heavy rain .",
        "Please read the instructions carefully before you install the software .",
        "The company plans to hire about two hundred engineers next year .",
        "They walked along the beach until the sun went down behind the hills .",
        "A small dog followed us all the way from the bakery to the library .",
        "The doctor told him to rest for a week and drink plenty of water .",
        "Her first novel was translated into twelve languages and sold very well .",
        "The meeting was postponed because several members were ill .",
        "We could see the mountains clearly from the top of the tower .",
        "The local school is raising money for new books and computers .",
        "He repaired the old bicycle and rode it to work every day that summer .",
        "The airport expects more travellers than ever during the holidays .",
        "Farmers in the region are worried about the long dry season .",
        "The orchestra played two symphonies and an encore for the audience .",
        "You can find more information about the programme on our website .",
        "The police closed the road for several hours after the accident .",
        "My grandmother still writes letters by hand to her friends abroad .",
        "The results of the survey will be published later this month .",
        "A light wind was blowing from the sea when the boats returned .",
        "The students asked good questions at the end of the lecture .",
        "It is important to check the facts before sharing a story online .",
        "The garden looks beautiful in spring when the trees are in flower .",
    ];

    /// <summary>Computes the warm state of <paramref name="model"/> after <paramref name="warmUp"/> sentences.</summary>
    /// <param name="model">The model.</param>
    /// <param name="warmUp">Tokenised sentences, run in order at batch size 1.</param>
    /// <returns>A one-row state (zero when <paramref name="warmUp"/> is empty).</returns>
    public static LstmState Compute(ElmoModel model, IEnumerable<IReadOnlyList<string>> warmUp)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(warmUp);
        var session = model.CreateSession(StateMode.Stateful);
        foreach (var sentence in warmUp)
        {
            session.Run([sentence]);
        }
        return session.CarriedState ?? new LstmState(model.Options.Lstm, 1);
    }

    /// <summary>Computes the warm state after the built-in text.</summary>
    /// <param name="model">The model.</param>
    /// <returns>A one-row state.</returns>
    public static LstmState ComputeBuiltIn(ElmoModel model) =>
        Compute(model, BuiltInText.Select(s => (IReadOnlyList<string>)s.Split(' ')));

    /// <summary>
    /// Saves a one-row state as HDF5: datasets <c>hidden</c> <c>(layers, 2, projection_dim)</c> and
    /// <c>cell</c> <c>(layers, 2, cell_dim)</c>, float32; written atomically.
    /// </summary>
    /// <param name="state">A one-row state.</param>
    /// <param name="path">The file to write.</param>
    public static void Save(LstmState state, string path)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Rows != 1) throw new ArgumentException($"A warm state has one row, this one has {state.Rows}.", nameof(state));
        var o = state.Options;
        var hidden = new float[o.Layers * 2 * o.ProjectionDim];
        var cell = new float[o.Layers * 2 * o.CellDim];
        for (int i = 0; i < o.Layers * 2; i++)
        {
            state.Hidden[i].CopyTo(hidden, i * o.ProjectionDim);
            state.Cell[i].CopyTo(cell, i * o.CellDim);
        }
        var file = new H5File
        {
            ["hidden"] = new H5Dataset(hidden, fileDims: [(ulong)o.Layers, 2, (ulong)o.ProjectionDim]),
            ["cell"] = new H5Dataset(cell, fileDims: [(ulong)o.Layers, 2, (ulong)o.CellDim]),
        };
        AtomicFile.Write(path, tmp => file.Write(tmp));
    }

    /// <summary>Loads a state saved by <see cref="Save"/>, checking it fits <paramref name="options"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">The model's LSTM architecture.</param>
    /// <returns>A one-row state. float32 datasets are read as they are, float64 rounded to float32 and float16 widened,
    /// as for weight files; any other element type is refused.</returns>
    /// <exception cref="ElmoInputException">The file is missing, unreadable, damaged, or its shapes or element types do not fit the model.</exception>
    public static LstmState Load(string path, LstmOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        if (!File.Exists(path)) throw new ElmoInputException($"Warm-state file '{path}' does not exist.") { FilePath = path };
        Hdf5Scan scan;
        try
        {
            // Checksums, link cycles and sizes first: PureHDF checks none of them.
            scan = Hdf5Scan.Run(path);
        }
        catch (Hdf5FormatException e)
        {
            throw new ElmoInputException(e.NotHdf5 ? $"Warm-state file '{path}' is not a readable warm state ({e.Message})." : $"Warm-state file '{path}' is damaged: {e.Message}.", e) { FilePath = path };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ElmoInputException($"Warm-state file '{path}' cannot be read ({e.Message}).", e) { FilePath = path };
        }
        Hdf5Filters.Register();
        try
        {
            using var file = H5File.OpenRead(path);
            var state = new LstmState(options, 1);
            var hidden = ReadChecked(file, scan, path, "hidden", [options.Layers, 2, options.ProjectionDim]);
            var cell = ReadChecked(file, scan, path, "cell", [options.Layers, 2, options.CellDim]);
            for (int i = 0; i < options.Layers * 2; i++)
            {
                hidden.AsSpan(i * options.ProjectionDim, options.ProjectionDim).CopyTo(state.Hidden[i]);
                cell.AsSpan(i * options.CellDim, options.CellDim).CopyTo(state.Cell[i]);
            }
            return state;
        }
        catch (ElmoException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ElmoInputException($"Warm-state file '{path}' is not a readable warm state ({Hdf5Errors.Describe(e)}).", e) { FilePath = path };
        }
    }

    private static float[] ReadChecked(PureHDF.VOL.Native.NativeFile file, Hdf5Scan scan, string path, string name, int[] shape)
    {
        if (!scan.Exists(name)) throw new ElmoInputException($"Warm-state file '{path}': dataset '{name}' is missing.") { FilePath = path };
        if (scan.Find(name) is not { } facts) throw new ElmoInputException($"Warm-state file '{path}': '{name}' is not a dataset.") { FilePath = path };
        var dims = facts.Dims;
        if (dims.Length != shape.Length || !dims.Zip(shape).All(t => t.First == (ulong)t.Second))
        {
            throw new ElmoInputException($"Warm-state file '{path}': dataset '{name}' has shape ({string.Join(", ", dims)}), the model needs ({string.Join(", ", shape)}); it was computed for another model.") { FilePath = path };
        }
        if (!facts.Element.IsFloat)
        {
            throw new ElmoInputException($"Warm-state file '{path}': dataset '{name}' holds {facts.Element.Describe()} values; a warm state holds floats (float32; float16 and float64 are converted).") { FilePath = path };
        }
        if (facts.Unreadable is { } why) throw new ElmoInputException($"Warm-state file '{path}': dataset '{name}' cannot be read: {why}.") { FilePath = path };
        var data = new float[shape.Aggregate(1, (a, b) => a * b)];
        Hdf5Values.ReadFloats((PureHDF.VOL.Native.NativeDataset)file.Dataset(name), facts.Element, null, data);
        if (data.Any(v => !float.IsFinite(v))) throw new ElmoInputException($"Warm-state file '{path}': dataset '{name}' holds non-finite values.") { FilePath = path };
        return data;
    }
}

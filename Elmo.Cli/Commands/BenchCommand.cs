using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Elmo.Core;
using Elmo.Kernels;
using Elmo.Kernels.Calibration;
using Elmo.Kernels.Gemm;

namespace Elmo.Cli.Commands;

/// <summary>
/// <c>elmo bench</c>: tokens per second of the biLM over a corpus, the median of several repetitions, with the time of
/// each stage (char CNN, highway + projection, LSTM) and the peak resident memory; the batch-1 latency; and both
/// against this machine's limits measured in the same run (<see cref="MachineLimits"/>): throughput as a fraction of
/// the compute ceiling (FMA peak ÷ FLOP per token executed), latency as a multiple of the bandwidth floor (weight bytes
/// read per sentence ÷ read bandwidth).
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliConsole console)
    {
        var corpus = new Option<string?>("--corpus") { Description = $"Sentences, one per line, tokens separated by whitespace (default: the built-in warm-up text, {WarmStart.BuiltInText.Count} sentences).", HelpName = "FILE" };
        var preset = new Option<string?>("--preset") { Description = "Random weights of a built-in architecture, made in memory: original, medium, small, tiny, demo.", HelpName = "NAME" };
        preset.AcceptOnlyFromAmong([.. ModelPresets.Names]);
        var seed = new Option<ulong>("--seed") { Description = "Seed of the --preset weights.", DefaultValueFactory = _ => 1UL, HelpName = "N" };
        var batchSize = new Option<int>("--batch-size") { Description = "Sentences per batch.", DefaultValueFactory = _ => 64, HelpName = "N" };
        var sentences = new Option<int?>("--sentences") { Description = "Use only the first N sentences of the corpus (default: all).", HelpName = "N" };
        var threads = new Option<int?>("--threads") { Description = "Threads (default: all cores).", HelpName = "N" };
        var repetitions = new Option<int>("--repetitions") { Description = "Timed passes over the sentences; the median is reported.", DefaultValueFactory = _ => 3, HelpName = "N" };
        var sort = new Option<bool>("--sort-by-length") { Description = "Batch sentences of similar length together, as 'elmo embed' does in stateless mode (default: file order, as AllenNLP's figures)." };
        var serve = new Option<bool>("--serve") { Description = "Measure 'elmo serve' on loopback: throughput and p50/p99 latency under --clients concurrent clients, beside offline 'elmo embed' throughput and the library's batch-1 latency, in one run (--repetitions rounds)." };
        var clients = new Option<string>("--clients") { Description = "With --serve: concurrent client counts.", DefaultValueFactory = _ => "1,8,32", HelpName = "N,N,..." };
        var requestSentences = new Option<int>("--request-sentences") { Description = "With --serve: sentences per request in the throughput runs.", DefaultValueFactory = _ => 4, HelpName = "N" };
        var latencySentences = new Option<int>("--latency-sentences") { Description = "Sentences (the first of the corpus) of the batch-1 latency run, 0 for none; with --serve, single-sentence requests in the idle-latency run.", DefaultValueFactory = _ => 16, HelpName = "N" };
        var parallelBatches = new Option<int?>("--parallel-batches") { Description = "Batches run side by side, each on its own session with an even share of the threads (default: as 'elmo embed' chooses).", HelpName = "N" };
        var noCalibration = new Option<bool>("--no-calibration") { Description = "Skip measuring the machine's FMA peak and memory bandwidth (and so the fractions of the ceiling and floor)." };
        var npy = new Option<bool>("--npy") { Description = "With --serve: ask for .npy answers instead of JSON." };
        var gemm = new Option<bool>("--gemm") { Description = "Measure only the single-thread GEMM at the two LSTM shapes of the original model against the single-core FMA peak, interleaved in this process (--repetitions rounds, default 9 here); needs no model." };
        var gemmShapes = new Option<string?>("--gemm-shapes") { Description = "With --gemm: the products to measure instead of the two LSTM shapes, as MxKxN,MxKxN,...", HelpName = "MxKxN,..." };
        var model = new ModelSource();
        var command = new ElmoCommand("bench", "Measure tokens per second of the biLM over a corpus, with the time of each stage and the peak memory.", """
            Runs the biLM in stateless mode over the sentences of a corpus, batch by batch, once untimed to warm up and then
            --repetitions times, and prints each pass and the medians: tokens per second, seconds per sentence, and the
            time spent in the char CNN, the highway layers + projection, and the LSTM layers. The peak resident memory of
            the process is printed at the end. Then, unless --latency-sentences is 0, the first sentences of the corpus
            are run one at a time (batch 1, the same repetitions) for the latency. The machine's own limits are measured
            (unless --no-calibration) before the passes, between the throughput and batch-1 passes and after them: the
            fp32 FMA peak (12 independent FMA chains on the widest vector path) and the memory read bandwidth, each on
            one thread and on the threads used; throughput is then also given as a fraction of the compute ceiling
            (peak ÷ the GEMM FLOP per token actually executed) and batch-1 latency as a multiple of the bandwidth floor
            (bytes of weights read per sentence ÷ bandwidth), with the highest peak and bandwidth measured (load only
            lowers them) and also at the median and lowest, and a warning when the calibrations differ by more than
            15 %. Other
            programs running on the machine slow everything down: compare medians, and ratios measured in one run.

            With --gemm, only the single-thread GEMM at the two LSTM products of the original model (64x512x16384 and
            64x4096x512, or --gemm-shapes) is timed, round by round interleaved with the single-thread FMA peak, and
            printed as a fraction of it (no model needed).

            Examples:
              elmo bench --preset original --corpus corpus.txt
              elmo bench --preset original --batch-size 1 --sentences 16
              elmo make-model --preset original /tmp/original && elmo bench --options /tmp/original/options.json --weights /tmp/original/weights.hdf5
              elmo bench --preset small --sort-by-length --repetitions 5
              elmo bench --preset original --serve --sentences 256 --repetitions 3
              elmo bench --gemm --repetitions 15

            With --serve (see docs/server.md and docs/performance.md), each round runs offline 'elmo embed' over the
            sentences (HDF5 written to a temporary file), then an in-process 'elmo serve' on 127.0.0.1 under each
            --clients count (the sentences sent in requests of --request-sentences, output top), then single-sentence
            requests at idle alternating with the library's batch-1 calls; the medians of the rounds follow, and
            every sentence the server answers is checked bit for bit against the offline output.
            """)
        {
            corpus, preset, seed, batchSize, sentences, threads, repetitions, sort, serve, clients, requestSentences, latencySentences, npy, noCalibration, parallelBatches, gemm, gemmShapes,
        };
        model.AddTo(command);

        command.SetAction(parsed =>
        {
            int batch = parsed.GetValue(batchSize), reps = parsed.GetValue(repetitions);
            int? take = parsed.GetValue(sentences), threadCount = parsed.GetValue(threads);
            if (batch < 1) throw new UsageException($"--batch-size must be at least 1, got {batch}.");
            if (reps < 1) throw new UsageException($"--repetitions must be at least 1, got {reps}.");
            if (take is < 1) throw new UsageException($"--sentences must be at least 1, got {take}.");
            if (threadCount is < 1) throw new UsageException($"--threads must be at least 1, got {threadCount}.");
            if (parsed.GetValue(gemm))
            {
                return GemmOnly(console, parsed.GetResult(repetitions) is { Implicit: false } ? reps : 9, ParseShapes(parsed.GetValue(gemmShapes)));
            }
            if (parsed.GetValue(gemmShapes) is not null) throw new UsageException("--gemm-shapes goes with --gemm.");
            int? parallelCount = parsed.GetValue(parallelBatches);
            if (parallelCount is < 1) throw new UsageException($"--parallel-batches must be at least 1, got {parallelCount}.");
            string? presetName = parsed.GetValue(preset);
            bool namedModel = parsed.GetValue(model.Model) is not null || parsed.GetValue(model.Options) is not null || parsed.GetValue(model.Weights) is not null;
            if (presetName is not null && namedModel) throw new UsageException("--preset cannot be combined with --model, --options or --weights.");
            if (presetName is null && !namedModel) throw new UsageException("A model is needed: --preset NAME (random weights), --options FILE --weights FILE, or --model NAME.");

            string corpusPath = parsed.GetValue(corpus) ?? "the built-in warm-up text";
            List<InputSentence> lines;
            if (parsed.GetValue(corpus) is null)
            {
                lines = InputReader.ReadAll(new StringReader(string.Join('\n', WarmStart.BuiltInText)), InputFormat.Text, corpusPath, skipBlank: true);
            }
            else
            {
                if (!File.Exists(corpusPath)) throw new ElmoInputException($"Corpus '{corpusPath}' does not exist.") { FilePath = corpusPath };
                using var reader = new StreamReader(corpusPath);
                lines = InputReader.ReadAll(reader, InputFormat.Text, corpusPath, skipBlank: true);
            }
            var corpusLines = lines;
            if (take is int n) lines = lines.Take(n).ToList();
            if (lines.Count == 0) throw new ElmoInputException($"Corpus '{corpusPath}' holds no sentences.") { FilePath = corpusPath };
            if (parsed.GetValue(sort)) lines = lines.OrderBy(s => s.Tokens.Count).ToList(); // stable
            var batches = lines.Chunk(batch).Select(b => (IReadOnlyList<IReadOnlyList<string>>)b.Select(s => s.Tokens).ToArray()).ToArray();
            long tokens = lines.Sum(s => (long)s.Tokens.Count);

            var loadWatch = Stopwatch.StartNew();
            ElmoModel elmo;
            string description;
            Func<ElmoModel> exactModel; // the same weights in float32, for the fidelity of a reduced precision
            if (presetName is not null)
            {
                elmo = new ElmoModel(RandomWeights.Create(ModelPresets.Get(presetName), parsed.GetValue(seed))).WithPrecision(model.GetPrecision(parsed));
                description = $"{presetName} (random weights, seed {parsed.GetValue(seed)}, made in memory)";
                exactModel = () => new ElmoModel(RandomWeights.Create(ModelPresets.Get(presetName), parsed.GetValue(seed)));
            }
            else
            {
                elmo = model.Load(parsed, console, quiet: true, out ResolvedModel resolved);
                description = resolved.WeightsPath ?? "demo";
                exactModel = () => resolved.IsDemo ? ElmoModel.Demo() : ElmoModel.Load(resolved.OptionsPath!, resolved.WeightsPath!);
            }
            double loadSeconds = loadWatch.Elapsed.TotalSeconds;
            if (parsed.GetValue(serve))
            {
                if (parallelCount is not null) throw new UsageException("--parallel-batches does not go with --serve.");
                if (parsed.GetValue(sort)) throw new UsageException("--sort-by-length does not go with --serve (the server takes requests in arrival order; offline embedding sorts as 'elmo embed' does).");
                var counts = parsed.GetValue(clients)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(c => int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= 1024 ? n : throw new UsageException($"--clients: '{c}' is not a count between 1 and 1024."))
                    .ToArray();
                if (counts.Length == 0) throw new UsageException("--clients is empty: give counts such as 1,8,32.");
                int perRequest = parsed.GetValue(requestSentences), latency = parsed.GetValue(latencySentences);
                if (perRequest < 1) throw new UsageException($"--request-sentences must be at least 1, got {perRequest}.");
                if (latency < 1) throw new UsageException($"--latency-sentences must be at least 1 with --serve, got {latency}.");
                if (parsed.GetValue(noCalibration)) throw new UsageException("--no-calibration does not go with --serve (it measures no limits).");
                return ServeBench.Run(console, elmo, description, lines, new ServeBench.Settings(counts, perRequest, latency, reps, batch, threadCount, parsed.GetValue(npy)));
            }
            if (parsed.GetValue(clients) != "1,8,32" || parsed.GetResult(requestSentences) is { Implicit: false } || parsed.GetValue(npy))
            {
                throw new UsageException("--clients, --request-sentences and --npy go with --serve.");
            }
            int latencyCount = parsed.GetValue(latencySentences);
            if (latencyCount < 0) throw new UsageException($"--latency-sentences must be 0 or more, got {latencyCount}.");

            var session = elmo.CreateSession(StateMode.Stateless, threads: threadCount);
            // Batches side by side (as 'elmo embed' would run them), each session with its share of the threads.
            var plan = BatchParallelism.Choose(session.Threads, batches.Length, parallelCount);
            var sessions = plan.Workers == 1 ? [session] : Enumerable.Range(0, plan.Workers).Select(_ => elmo.CreateSession(StateMode.Stateless, threads: plan.ThreadsPerWorker)).ToArray();
            var stageTimings = sessions.Select(s => s.Timings = new StageTimings()).ToArray();
            var o = console.Out;
            o.WriteLine(Invariant($"model: {description}; {elmo.Weights.ParameterCount / 1e6:F1} M parameters, {elmo.Weights.SizeInBytes / 1e6:F0} MB packed ({elmo.Weights.Precision}); {(presetName is null ? "loaded" : "made")} in {loadSeconds:F2} s"));
            o.WriteLine(Invariant($"corpus: {corpusPath}: {lines.Count} sentences, {tokens} tokens; batch size {batch}, {batches.Length} batches, {(parsed.GetValue(sort) ? "sorted by length" : "file order")}, stateless"));
            o.WriteLine(Invariant($"machine: {MachineCalibration.CpuModel}; {Environment.ProcessorCount} cores, kernel path {KernelPaths.Best}, threads {session.Threads}{(plan.Workers > 1 ? $" ({plan.Workers} batches side by side, {plan.ThreadsPerWorker} threads each; stage times summed over them)" : "")}"));

            // Untimed warm-up: compiles every kernel at its final optimisation level.
            foreach (var s in sessions) s.Run(batches[0]);

            // The machine's limits, measured before the passes, between the throughput and batch-1 passes and after
            // them: a load that changes during the run then shows as a range instead of skewing every fraction.
            bool calibrate = !parsed.GetValue(noCalibration);
            var calibrations = new List<MachineCalibration>();
            void Calibrate(string when)
            {
                if (!calibrate) return;
                console.Cancellation.ThrowIfCancellationRequested();
                var l = MachineLimits.Measure(session.Threads, CalibrationRounds);
                calibrations.Add(l);
                o.WriteLine(Invariant($"machine limits {when} (best of {CalibrationRounds}): fp32 FMA peak {l.PeakGflops1:F1} GFLOP/s on 1 thread, {l.PeakGflopsAll:F1} on {l.Threads} ({l.Path}); memory read {l.ReadGBs1:F1} GB/s on 1 thread, {l.ReadGBsAll:F1} on {l.Threads}"));
            }
            Calibrate("before the passes");

            void RunAll()
            {
                if (sessions.Length == 1)
                {
                    foreach (var b in batches)
                    {
                        console.Cancellation.ThrowIfCancellationRequested();
                        session.Run(b);
                    }
                    return;
                }
                int next = -1;
                Parallel.For(0, sessions.Length, new ParallelOptions { MaxDegreeOfParallelism = sessions.Length, CancellationToken = console.Cancellation }, w =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < batches.Length)
                    {
                        console.Cancellation.ThrowIfCancellationRequested();
                        sessions[w].Run(batches[i]);
                    }
                });
            }

            var passes = new List<Pass>();
            var process = Process.GetCurrentProcess();
            for (int r = 0; r < reps; r++)
            {
                GC.Collect(); // untimed: every pass starts without the previous pass's outputs
                foreach (var t in stageTimings) t.Reset();
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                long flops0 = GemmCounters.Flops;
                var watch = Stopwatch.StartNew();
                RunAll();
                double seconds = watch.Elapsed.TotalSeconds;
                process.Refresh();
                var pass = new Pass(seconds, (process.TotalProcessorTime - cpu0).TotalSeconds, stageTimings.Sum(t => t.CharCnn.TotalSeconds), stageTimings.Sum(t => t.HighwayAndProjection.TotalSeconds), stageTimings.Sum(t => t.Lstm.TotalSeconds), stageTimings.Sum(t => t.Other.TotalSeconds), GemmCounters.Flops - flops0);
                passes.Add(pass);
                o.WriteLine(Invariant($"pass {r + 1}/{reps}: {seconds:F2} s, {tokens / seconds:F0} tokens/s, {seconds / lines.Count:F3} s/sentence, CPU {pass.Cpu:F2} s | char CNN {pass.CharCnn:F2} s, highway+projection {pass.Highway:F2} s, LSTM {pass.Lstm:F2} s, other {pass.Other:F2} s"));
            }

            double Median(Func<Pass, double> f) => MedianOf(passes.Select(f));
            double total = Median(p => p.Seconds);
            o.WriteLine(Invariant($"median of {reps}: {tokens / total:F0} tokens/s ({total:F2} s; min {tokens / passes.Max(p => p.Seconds):F0}, max {tokens / passes.Min(p => p.Seconds):F0} tokens/s), {total / lines.Count:F3} s/sentence, {total / batches.Length:F3} s/batch"));
            o.WriteLine(Invariant($"stages (median s{(plan.Workers > 1 ? " summed over the batches side by side" : "")}, share of the pass): char CNN {Median(p => p.CharCnn):F2} ({Median(p => p.CharCnn) / total:P0}), highway+projection {Median(p => p.Highway):F2} ({Median(p => p.Highway) / total:P0}), LSTM {Median(p => p.Lstm):F2} ({Median(p => p.Lstm) / total:P0}), other {Median(p => p.Other):F2} ({Median(p => p.Other) / total:P0})"));
            double flopsPerToken = Median(p => p.Flops) / tokens;
            process.Refresh();
            o.WriteLine(Invariant($"peak resident memory: {process.PeakWorkingSet64 / 1e6:F0} MB (the whole process: loading, the warm-up pass and every timed pass)"));

            if (latencyCount > 0) Calibrate("between the passes");

            // Batch 1: the first sentences of the corpus one at a time (latency), with the weight bytes each reads.
            var batchOne = new List<(double Seconds, long Bytes)>();
            // With calibration, the read bandwidth is also measured right after each batch-1 pass (best of 3 short rounds),
            // so that each pass has a floor from the same moment: on a shared machine the load moves between the passes
            // and the calibration at the end, and a floor from another moment can put the ratio anywhere.
            var pairedBandwidth = new List<double>();
            var single = corpusLines.Take(latencyCount).Select(s => (IReadOnlyList<IReadOnlyList<string>>)[s.Tokens]).ToArray();
            long singleTokens = corpusLines.Take(latencyCount).Sum(s => (long)s.Tokens.Count);
            if (single.Length > 0)
            {
                session.Timings = null;
                session.Run(single[0]);
                for (int r = 0; r < reps; r++)
                {
                    GC.Collect();
                    long bytes0 = GemmCounters.WeightBytes;
                    var watch = Stopwatch.StartNew();
                    foreach (var s in single)
                    {
                        console.Cancellation.ThrowIfCancellationRequested();
                        session.Run(s);
                    }
                    double seconds = watch.Elapsed.TotalSeconds;
                    batchOne.Add((seconds, GemmCounters.WeightBytes - bytes0));
                    o.WriteLine(Invariant($"batch 1, pass {r + 1}/{reps}: {seconds / single.Length:F4} s/sentence, {singleTokens / seconds:F0} tokens/s"));
                    if (calibrate) pairedBandwidth.Add(MachineLimits.ReadBandwidthGBs(session.Threads, rounds: 3));
                }
                double median = MedianOf(batchOne.Select(l => l.Seconds));
                o.WriteLine(Invariant($"batch 1, median of {reps}: {median / single.Length:F4} s/sentence (min {batchOne.Min(l => l.Seconds) / single.Length:F4}, max {batchOne.Max(l => l.Seconds) / single.Length:F4}) over the first {single.Length} sentences ({singleTokens} tokens), {singleTokens / median:F0} tokens/s"));
            }

            Calibrate("after the passes");
            if (calibrations.Count > 0)
            {
                double peak1 = MedianOf(calibrations.Select(l => l.PeakGflops1)), peak = MedianOf(calibrations.Select(l => l.PeakGflopsAll));
                double read1 = MedianOf(calibrations.Select(l => l.ReadGBs1)), read = MedianOf(calibrations.Select(l => l.ReadGBsAll));
                double peakLow = calibrations.Min(l => l.PeakGflopsAll), peakHigh = calibrations.Max(l => l.PeakGflopsAll);
                double readLow = calibrations.Min(l => l.ReadGBsAll), readHigh = calibrations.Max(l => l.ReadGBsAll);
                int calibratedThreads = calibrations[0].Threads;
                o.WriteLine(Invariant($"machine limits, median of {calibrations.Count} calibrations: fp32 FMA peak {peak1:F1} GFLOP/s on 1 thread ({calibrations.Min(l => l.PeakGflops1):F1}–{calibrations.Max(l => l.PeakGflops1):F1}), {peak:F1} on {calibratedThreads} ({peakLow:F1}–{peakHigh:F1}); memory read {read1:F1} GB/s on 1 thread ({calibrations.Min(l => l.ReadGBs1):F1}–{calibrations.Max(l => l.ReadGBs1):F1}), {read:F1} on {calibratedThreads} ({readLow:F1}–{readHigh:F1})"));
                double spread = Math.Max(peakHigh / peakLow, readHigh / readLow) - 1;
                if (spread > CalibrationSpreadWarning)
                {
                    o.WriteLine(Invariant($"warning: the limits measured during this run differ by up to {spread:P0} (highest over lowest): the load on the machine changed, so the fractions below are uncertain by as much; compare ratios from a quieter run"));
                }
                // The fractions use the highest limits measured: load only ever lowers a calibration, so the highest is
                // the nearest to the machine's own limit and never flatters a fraction; the median and lowest follow.
                double achieved = flopsPerToken * tokens / total / 1e9, ceiling = peakHigh * 1e9 / flopsPerToken;
                double rate = tokens / total;
                o.WriteLine(Invariant($"compute: {flopsPerToken / 1e6:F1} MFLOP per token executed (GEMMs), {achieved:F1} GFLOP/s; ceiling {ceiling:F0} tokens/s at {peakHigh:F1} GFLOP/s (the highest peak measured): {rate / ceiling:P1} of the compute ceiling ({rate * flopsPerToken / (peak * 1e9):P1} at the median peak, {rate * flopsPerToken / (peakLow * 1e9):P1} at the lowest)"));
                if (batchOne.Count > 0)
                {
                    double median = MedianOf(batchOne.Select(l => l.Seconds)) / single.Length;
                    double bytes = MedianOf(batchOne.Select(l => (double)l.Bytes)) / single.Length;
                    double floor = bytes / (readHigh * 1e9);
                    o.WriteLine(Invariant($"batch 1: {bytes / 1e6:F1} MB of weights read per sentence ({bytes * single.Length / singleTokens / 1e6:F1} MB per token); bandwidth floor {floor:F4} s/sentence at {readHigh:F1} GB/s (the highest bandwidth measured): {median / floor:F2}x the floor ({median * read * 1e9 / bytes:F2}x at the median bandwidth, {median * readLow * 1e9 / bytes:F2}x at the lowest)"));
                    // Each pass against the bandwidth measured right after it: the ratio least moved by a changing load.
                    var ratios = batchOne.Zip(pairedBandwidth, (pass, gbs) => pass.Seconds / (pass.Bytes / (gbs * 1e9))).ToArray();
                    o.WriteLine(Invariant($"batch 1, each pass against the read bandwidth measured right after it ({pairedBandwidth.Min():F1}–{pairedBandwidth.Max():F1} GB/s on {session.Threads} thread{(session.Threads == 1 ? "" : "s")}): median {MedianOf(ratios):F2}x the floor (range {ratios.Min():F2}–{ratios.Max():F2})"));
                }
            }

            if (elmo.Weights.Precision != WeightPrecision.Fp32)
            {
                // Fidelity against the same weights in float32, over the sentences measured.
                console.Cancellation.ThrowIfCancellationRequested();
                var fidelity = PrecisionFidelity.Compare(exactModel(), elmo, lines.Select(l => l.Tokens).ToArray(), batchSize: batch);
                foreach (var f in fidelity)
                {
                    o.WriteLine(Invariant($"fidelity vs fp32, layer {f.Layer}: {f.Vectors} vectors, cosine min {f.MinCosine:F6}, median {f.MedianCosine:F6}; max abs diff {f.MaxAbsDiff:G3}"));
                }
            }
            return ElmoCli.Success;
        });
        return command;
    }

    /// <summary><c>elmo bench --gemm</c>: the GEMM at the LSTM shapes against the one-core FMA peak, interleaved.</summary>
    private static (int M, int K, int N)[]? ParseShapes(string? text)
    {
        if (text is null) return null;
        var shapes = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(item =>
        {
            var parts = item.Split('x');
            int[] d = parts.Length == 3 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= 1 && v <= 1 << 16)
                ? parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray()
                : throw new UsageException($"--gemm-shapes: '{item}' is not MxKxN with each between 1 and 65536.");
            return (d[0], d[1], d[2]);
        }).ToArray();
        return shapes.Length > 0 ? shapes : throw new UsageException("--gemm-shapes is empty: give shapes such as 64x512x16384.");
    }

    private static int GemmOnly(CliConsole console, int rounds, IReadOnlyList<(int M, int K, int N)>? shapes)
    {
        var o = console.Out;
        o.WriteLine(Invariant($"machine: {MachineCalibration.CpuModel}; {Environment.ProcessorCount} cores, kernel path {KernelPaths.Best}; {Gemm.Blocking}"));
        o.WriteLine(Invariant($"single-thread GEMM against the single-thread FMA peak, interleaved, {rounds} rounds (B cycled from memory):"));
        foreach (var r in GemmEfficiency.Measure(shapes, rounds))
        {
            o.WriteLine(Invariant($"  {r.M}x{r.K}x{r.N}: median {r.Gflops:F1} GFLOP/s, peak {r.PeakGflops:F1}: {r.Fraction:P1} of the peak (rounds {r.FractionMin:P1}–{r.FractionMax:P1}); best {r.BestGflops:F1} of best {r.BestPeakGflops:F1}: {r.BestFraction:P1}; per CPU second: {r.CpuFraction:P1}"));
        }
        return ElmoCli.Success;
    }

    /// <summary>Rounds of each calibration (best kept); three calibrations per run.</summary>
    private const int CalibrationRounds = 3;

    /// <summary>Spread of the limits within one run (highest ÷ lowest − 1) above which the bench warns that the load changed.</summary>
    private const double CalibrationSpreadWarning = 0.15;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static double MedianOf(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    private sealed record Pass(double Seconds, double Cpu, double CharCnn, double Highway, double Lstm, double Other, long Flops);
}

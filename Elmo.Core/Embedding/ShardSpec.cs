using System.Globalization;

namespace Elmo.Core;

/// <summary>
/// Part <see cref="Index"/> of <see cref="Count"/> of a split run: the input is cut into <see cref="Count"/> contiguous
/// parts balanced by token count (each sentence counted with its two boundary tokens, which the biLM runs too), a pure
/// function of the input and <see cref="Count"/>, so any part can be computed, or recomputed, alone.
/// </summary>
/// <param name="Index">1-based part number, 1 … <paramref name="Count"/>.</param>
/// <param name="Count">Parts, at least 1.</param>
public sealed record ShardSpec(int Index, int Count)
{
    /// <summary>The most parts a run can be split into.</summary>
    public const int MaxCount = 1_000_000;

    /// <summary>The part a sentence falls in, given the weight of the sentences before it.</summary>
    /// <param name="weightBefore">Tokens of the sentences before it, two boundary tokens counted per sentence.</param>
    /// <param name="totalWeight">The same over the whole input.</param>
    /// <param name="count">Parts.</param>
    /// <returns>1 … <paramref name="count"/>.</returns>
    internal static int PartOf(long weightBefore, long totalWeight, int count) =>
        (int)((Int128)weightBefore * count / totalWeight) + 1;

    /// <summary>
    /// Reads <c>K/N</c>, or <c>auto</c> / <c>auto/N</c>: the part this process is, from the environment of the engine
    /// that started it. Slurm job arrays set <c>SLURM_ARRAY_TASK_ID</c>, <c>SLURM_ARRAY_TASK_MIN</c> and
    /// <c>SLURM_ARRAY_TASK_COUNT</c> (or <c>SLURM_ARRAY_TASK_MAX</c>): with <c>auto</c>, part <c>ID − MIN + 1</c> of
    /// <c>COUNT</c> (the whole array is the split); with <c>auto/N</c>, part <c>ID</c> of N (array indices are the part
    /// numbers, so any task can be resubmitted alone: <c>sbatch --array=3</c>). Kubernetes Indexed Jobs set
    /// <c>JOB_COMPLETION_INDEX</c> (0-based) but not the count, which <c>auto/N</c> gives: part index + 1 of N.
    /// </summary>
    /// <param name="text">The flag's value.</param>
    /// <param name="environment">Reads an environment variable (null when unset).</param>
    /// <returns>The part.</returns>
    /// <exception cref="ArgumentException">Not K/N, auto or auto/N; or an environment that names no part or contradicts itself (one line, naming the variables).</exception>
    public static ShardSpec Parse(string text, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(environment);
        var f = text.Split('/');
        int? given = null;
        if (f[0] == "auto")
        {
            if (f.Length == 2) given = Number(f[1], text, "N");
            else if (f.Length != 1) throw Syntax(text);
            return FromEnvironment(given, environment);
        }
        if (f.Length != 2) throw Syntax(text);
        var shard = new ShardSpec(Number(f[0], text, "K"), Number(f[1], text, "N"));
        if (shard.Count > MaxCount || shard.Index > shard.Count) throw new ArgumentException($"--shard {text}: K must be between 1 and N (N at most {MaxCount:N0}).");
        return shard;
    }

    private static ShardSpec FromEnvironment(int? count, Func<string, string?> environment)
    {
        string flag = count is null ? "--shard auto" : $"--shard auto/{count}";
        if (environment("SLURM_ARRAY_TASK_ID") is string id)
        {
            int task = Variable("SLURM_ARRAY_TASK_ID", id, flag);
            string? minText = environment("SLURM_ARRAY_TASK_MIN");
            if (minText is null) throw new ArgumentException($"{flag}: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MIN is not; run it as a task of a job array (sbatch --array=1-N).");
            int min = Variable("SLURM_ARRAY_TASK_MIN", minText, flag);
            int? tasks = environment("SLURM_ARRAY_TASK_COUNT") is string c ? Variable("SLURM_ARRAY_TASK_COUNT", c, flag) : null;
            int? max = environment("SLURM_ARRAY_TASK_MAX") is string m ? Variable("SLURM_ARRAY_TASK_MAX", m, flag) : null;
            if (tasks is null && max is null) throw new ArgumentException($"{flag}: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is; run it as a task of a job array (sbatch --array=1-N).");
            if (tasks is int t && max is int x && x - min + 1 != t)
            {
                throw new ArgumentException($"{flag}: the job array is not a plain range (SLURM_ARRAY_TASK_MIN={min}, SLURM_ARRAY_TASK_MAX={x}, SLURM_ARRAY_TASK_COUNT={t}); submit it as --array=1-N (a '%' limit is fine), without steps or gaps.");
            }
            int n = tasks ?? (max!.Value - min + 1);
            if (task < min || task - min + 1 > n) throw new ArgumentException($"{flag}: SLURM_ARRAY_TASK_ID={task} is outside the array {min}-{min + n - 1}.");
            if (count is int parts)
            {
                // The array's indices are the part numbers: a task resubmitted alone keeps its part.
                if (task < 1 || task > parts) throw new ArgumentException($"{flag}: SLURM_ARRAY_TASK_ID={task} is not a part number 1-{parts}; with auto/N the array's indices are the parts (sbatch --array=1-{parts}, or some of them).");
                return new ShardSpec(task, parts);
            }
            return new ShardSpec(task - min + 1, n);
        }
        if (environment("JOB_COMPLETION_INDEX") is string index)
        {
            int i = Variable("JOB_COMPLETION_INDEX", index, flag, zero: true);
            if (count is not int n) throw new ArgumentException("--shard auto: JOB_COMPLETION_INDEX is set, but Kubernetes does not give the number of parts; pass it as --shard auto/N (N = the Job's completions).");
            if (i >= n) throw new ArgumentException($"{flag}: JOB_COMPLETION_INDEX={i} is not below {n}; the Job's completions and N must agree.");
            return new ShardSpec(i + 1, n);
        }
        throw new ArgumentException($"{flag}: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; outside those, give the part as --shard K/N.");
    }

    private static int Number(string s, string text, string what)
    {
        if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1) throw Syntax(text, $" ({what} must be a whole number of at least 1)");
        return n;
    }

    private static int Variable(string name, string value, string flag, bool zero = false)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || (!zero && n < 0)) throw new ArgumentException($"{flag}: {name}='{value}' is not a whole number.");
        return n;
    }

    private static ArgumentException Syntax(string text, string why = "") =>
        new($"--shard takes K/N (part K of N, e.g. 2/4), auto (from a Slurm job array's environment) or auto/N (Kubernetes: JOB_COMPLETION_INDEX), not '{text}'{why}.");

    /// <summary>Checks the numbers.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not 1 ≤ Index ≤ Count ≤ <see cref="MaxCount"/>.</exception>
    public void Validate()
    {
        if (Count < 1 || Count > MaxCount || Index < 1 || Index > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(Index), this, $"A shard is K/N with 1 <= K <= N <= {MaxCount}.");
        }
    }

    /// <summary><c>K/N</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}

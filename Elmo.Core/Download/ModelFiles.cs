namespace Elmo.Core;

/// <summary>A model's two files in the <see cref="ModelCache"/>, checked when they were downloaded (<see cref="ModelCache.FetchModel"/>).</summary>
/// <param name="OptionsPath">The options JSON.</param>
/// <param name="WeightsPath">The weights HDF5.</param>
public sealed record ModelFiles(string OptionsPath, string WeightsPath);

namespace Elmo.Core;

/// <summary>A model published by AllenNLP: its options JSON and bilm-tf weights at public URLs.</summary>
/// <param name="Name">The name <c>elmo --model</c> accepts.</param>
/// <param name="Description">What it is (architecture, training data).</param>
/// <param name="OptionsUrl">The options JSON.</param>
/// <param name="WeightsUrl">The weights HDF5.</param>
/// <param name="Architecture">The architecture the options file describes.</param>
public sealed record PublishedModel(string Name, string Description, Uri OptionsUrl, Uri WeightsUrl, ElmoOptions Architecture);

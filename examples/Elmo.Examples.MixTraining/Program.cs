using Elmo.Core;
using Elmo.Examples.MixTraining;

// Usage: dotnet run --project examples/Elmo.Examples.MixTraining -c Release [-- OPTIONS.json WEIGHTS.hdf5]
// Without arguments it uses a tiny model with random weights (no download).
if (args.Length is not (0 or 2))
{
    Console.Error.WriteLine("usage: Elmo.Examples.MixTraining [OPTIONS.json WEIGHTS.hdf5]");
    return 2;
}
try
{
    var model = args.Length == 2
        ? ElmoModel.Load(args[0], args[1])
        : new ElmoModel(RandomWeights.Create(ModelPresets.Tiny, seed: 1));
    MixTrainingExample.Run(model, Console.Out);
    return 0;
}
catch (ElmoException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

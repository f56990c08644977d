using Elmo.Core;
using Elmo.Examples.Tagger;

// Usage: dotnet run --project examples/Elmo.Examples.Tagger -c Release [-- OPTIONS.json WEIGHTS.hdf5 | -- PUBLISHED_NAME]
// Without arguments it uses the built-in demo model (random weights, no download).
if (args.Length > 2)
{
    Console.Error.WriteLine("usage: Elmo.Examples.Tagger [OPTIONS.json WEIGHTS.hdf5 | small|medium|original|original-5.5B]");
    return 2;
}
try
{
    var model = args.Length switch
    {
        2 => ElmoModel.Load(args[0], args[1]),
        1 => ElmoModel.FromPublished(args[0]),
        _ => ElmoModel.Demo(),
    };
    TaggerExample.Run(model, Console.Out);
    return 0;
}
catch (Exception e) when (e is ElmoException or ArgumentException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

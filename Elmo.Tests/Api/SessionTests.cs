using Elmo.Core;
using Elmo.Tests.Support;

namespace Elmo.Tests.Api;

public class SessionTests
{
    private static readonly IReadOnlyList<string>[] Batch =
    [
        ["The", "cat", "sat", "."],
        [],
        ["Hi"],
    ];

    [Test]
    public void CharacterIdPathEqualsSentencePath()
    {
        var model = Reference.TinyModel;
        var ids = model.Mapper.BatchToIds(Batch);
        Assert.That((ids.Batch, ids.Tokens, ids.Characters), Is.EqualTo((3, 4, 50)));
        var a = model.CreateSession(StateMode.Stateless).Run(Batch);
        var b = model.CreateSession(StateMode.Stateless).Run(ids);
        Assert.That(b.Layers, Is.EqualTo(a.Layers));
        Assert.That(b.Mask, Is.EqualTo(a.Mask));
    }

    [Test]
    public void OutputShapesAndMaskWithAndWithoutBoundaries()
    {
        var output = Reference.TinyModel.CreateSession(StateMode.Stateless).Run(Batch);
        Assert.That((output.LayerCount, output.BatchSize, output.Timesteps, output.Dim), Is.EqualTo((3, 3, 6, 32)));
        Assert.That(output.Lengths, Is.EqualTo(new[] { 6, 2, 3 }));
        Assert.That(output.Mask, Is.EqualTo(new byte[] { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0 }));
        var trimmed = output.WithoutBoundaries();
        Assert.That((trimmed.Timesteps, trimmed.Lengths), Is.EqualTo((4, new[] { 4, 0, 1 })));
        Assert.That(trimmed.Vector(2, 0, 1).ToArray(), Is.EqualTo(output.Vector(2, 0, 2).ToArray()));
        Assert.That(trimmed.SentenceLayers(1), Is.Empty);
        Assert.That(trimmed.SentenceLayers(0), Is.EqualTo(output.SentenceLayers(0)));
        // Layer 0 is the token representation duplicated.
        var v = output.Vector(0, 0, 1);
        Assert.That(v[..16].ToArray(), Is.EqualTo(v[16..].ToArray()));
    }

    [Test]
    public void ResetReturnsAStatefulSessionToZeroState()
    {
        var model = Reference.TinyModel;
        var stateful = model.CreateSession(StateMode.Stateful);
        var first = stateful.Run(Batch);
        var second = stateful.Run(Batch);
        Assert.That(second.Layers, Is.Not.EqualTo(first.Layers), "state carried over");
        stateful.Reset();
        Assert.That(stateful.CarriedState, Is.Null);
        Assert.That(stateful.Run(Batch).Layers, Is.EqualTo(first.Layers));
    }

    [Test]
    public void StatefulSmallerBatchKeepsTheRowsBeyondIt()
    {
        var model = Reference.TinyModel;
        var session = model.CreateSession(StateMode.Stateful);
        session.Run(Batch);
        var before = session.CarriedState!;
        session.Run([Batch[0]]);
        var after = session.CarriedState!;
        Assert.That(after.Rows, Is.EqualTo(3));
        for (int row = 1; row < 3; row++)
        {
            Assert.That(after.GetHidden(row, 1, 1), Is.EqualTo(before.GetHidden(row, 1, 1)), $"row {row} untouched");
            Assert.That(after.GetCell(row, 0, 0), Is.EqualTo(before.GetCell(row, 0, 0)), $"row {row} untouched");
        }
        Assert.That(after.GetHidden(0, 0, 0), Is.Not.EqualTo(before.GetHidden(0, 0, 0)), "row 0 moved on");
    }

    [Test]
    public void EmptyBatchGivesEmptyOutputAndKeepsState()
    {
        var session = Reference.TinyModel.CreateSession(StateMode.Stateful);
        session.Run(Batch);
        var before = session.CarriedState!;
        var output = session.Run(Array.Empty<IReadOnlyList<string>>());
        Assert.That((output.BatchSize, output.Layers.Length), Is.EqualTo((0, 0)));
        Assert.That(session.CarriedState!.GetCell(2, 1, 0), Is.EqualTo(before.GetCell(2, 1, 0)));
    }

    [Test]
    public void CharacterIdsOfKnownTokensMatchAllenNlp()
    {
        var mapper = new CharacterMapper();
        // AllenNLP: [259, 257+... ] i.e. BOW+1, bytes+1, EOW+1, then padding 261.
        var ids = mapper.Map("Hi");
        Assert.That(ids[..5], Is.EqualTo(new[] { 259, 'H' + 1, 'i' + 1, 260, 261 }));
        Assert.That(ids.Skip(4).All(i => i == 261), Is.True);
        Assert.That(mapper.Map("<S>")[..4], Is.EqualTo(new[] { 259, 257, 260, 261 }));
        Assert.That(mapper.Map("</S>")[..4], Is.EqualTo(new[] { 259, 258, 260, 261 }));
        var longToken = mapper.Map(new string('x', 100));
        Assert.That(longToken[48], Is.EqualTo('x' + 1));
        Assert.That(longToken[49], Is.EqualTo(260), "cut to 48 bytes, then end-of-word");
        var withAdded = new CharacterMapper(tokensToAdd: new Dictionary<string, int> { ["<S>"] = 5 });
        Assert.That(withAdded.Map("<S>")[..4], Is.EqualTo(new[] { 259, 6, 260, 261 }), "added tokens win over <S>");
    }
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LabelConfigError, LabelInterface, parseLabelConfig } from '../../src/sdk/label-config.js';

/** Runs `fn`, expects a LabelConfigError and returns it for further assertions. */
function configError(fn: () => unknown): LabelConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LabelConfigError);
    return err as LabelConfigError;
  }
  throw new Error('expected a LabelConfigError, nothing was thrown');
}

// A /setup `schema` and the `parsed_label_config` Label Studio computes for it (sent inside webhooks' `project`).
const SENTIMENT_CONFIG =
  '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text" choice="single"><Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/></Choices></View>';
const SENTIMENT_PARSED_JSON =
  '{"sentiment": {"type": "Choices", "to_name": ["text"], "inputs": [{"type": "Text", "valueType": null, "value": "text"}], "labels": ["Positive", "Negative", "Neutral"], "labels_attrs": {"Positive": {"value": "Positive"}, "Negative": {"value": "Negative"}, "Neutral": {"value": "Neutral"}}}}';

describe('parseLabelConfig', () => {
  it('parses the /setup Text+Choices config into exactly the parsed_label_config LS computes', () => {
    const parsed = parseLabelConfig(SENTIMENT_CONFIG);
    expect(parsed).toEqual(JSON.parse(SENTIMENT_PARSED_JSON));
    // Same key order as the Python dicts, so the JSON we emit matches byte for byte.
    expect(JSON.stringify(parsed)).toBe(JSON.stringify(JSON.parse(SENTIMENT_PARSED_JSON)));
  });

  it('returns {} for an empty (or blank, or missing) config', () => {
    expect(parseLabelConfig('')).toEqual({});
    expect(parseLabelConfig('  \n ')).toEqual({});
    expect(parseLabelConfig(undefined)).toEqual({});
    expect(parseLabelConfig('<View></View>')).toEqual({});
  });

  it('keeps every XML attribute of each Label in labels_attrs, in document order', () => {
    const parsed = parseLabelConfig(`
      <View>
        <Image name="image" value="$image" valueType="url"/>
        <RectangleLabels name="label" toName="image" strokeWidth="3">
          <Label value="Car" background="green" hotkey="c"/>
          <Label value="Airplane" background="#FF0000" predicted_values="airplane,jet"/>
          <Label value="Person"/>
        </RectangleLabels>
      </View>`);
    expect(parsed).toEqual({
      label: {
        type: 'RectangleLabels',
        to_name: ['image'],
        inputs: [{ type: 'Image', valueType: 'url', value: 'image' }],
        labels: ['Car', 'Airplane', 'Person'],
        labels_attrs: {
          Car: { value: 'Car', background: 'green', hotkey: 'c' },
          Airplane: { value: 'Airplane', background: '#FF0000', predicted_values: 'airplane,jet' },
          Person: { value: 'Person' },
        },
      },
    });
  });

  it('splits toName on commas, resolves objects declared after the control and skips missing ones', () => {
    const parsed = parseLabelConfig(`
      <View>
        <Choices name="quality" toName="img,txt,missing">
          <Choice value="Good"/>
        </Choices>
        <Image name="img" value="$picture"/>
        <Text name="txt" value="$caption"/>
      </View>`);
    expect(parsed.quality?.to_name).toEqual(['img', 'txt', 'missing']);
    expect(parsed.quality?.inputs).toEqual([
      { type: 'Image', valueType: null, value: 'picture' },
      { type: 'Text', valueType: null, value: 'caption' },
    ]);
  });

  it('finds Choice tags nested in Views inside their Choices, and gives each label to its own control', () => {
    const parsed = parseLabelConfig(`
      <View>
        <Text name="text" value="$text"/>
        <Choices name="topic" toName="text">
          <View style="display: flex">
            <Choice value="Sports"/>
            <View><Choice value="Politics"/></View>
          </View>
        </Choices>
        <Labels name="ner" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
        <Label value="Orphan"/>
      </View>`);
    expect(parsed.topic?.labels).toEqual(['Sports', 'Politics']);
    expect(parsed.ner?.labels).toEqual(['PER', 'ORG']);
    expect(Object.keys(parsed)).toEqual(['topic', 'ner']);
  });

  it('keys labels by alias first, and ignores label tags without alias/value', () => {
    const parsed = parseLabelConfig(`
      <View>
        <Text name="text" value="$text"/>
        <Choices name="c" toName="text">
          <Choice value="Positive sentiment" alias="pos"/>
          <Choice value="Negative"/>
          <Choice hint="no value at all"/>
        </Choices>
      </View>`);
    expect(parsed.c?.labels).toEqual(['pos', 'Negative']);
    expect(parsed.c?.labels_attrs.pos).toEqual({ value: 'Positive sentiment', alias: 'pos' });
  });

  it('treats a tag with valueList as an object, with the $ stripped', () => {
    const parsed = parseLabelConfig(`
      <View>
        <Image name="pages" valueList="$images"/>
        <RectangleLabels name="box" toName="pages"><Label value="Sign"/></RectangleLabels>
      </View>`);
    expect(parsed.box?.inputs).toEqual([{ type: 'Image', valueType: null, value: 'images' }]);
  });

  it('flags dynamic labels (value="$var" or apiUrl) and only then', () => {
    const parsed = parseLabelConfig(`
      <View>
        <Text name="text" value="$text"/>
        <Choices name="fromData" toName="text" value="$options"/>
        <Taxonomy name="fromApi" toName="text" apiUrl="https://example.com/tree.json"/>
        <Choices name="static" toName="text" value="$"><Choice value="A"/></Choices>
      </View>`);
    expect(parsed.fromData?.dynamic_labels).toBe(true);
    expect(parsed.fromApi?.dynamic_labels).toBe(true);
    expect(parsed.static).not.toHaveProperty('dynamic_labels');
    expect(parsed.fromData?.labels).toEqual([]);
    expect(parsed.fromData?.labels_attrs).toEqual({});
  });

  it('ignores <Filter> even though it has name and toName', () => {
    const parsed = parseLabelConfig(`
      <View>
        <Text name="text" value="$text"/>
        <Filter name="filter" toName="ner" hotkey="shift+f" minlength="1"/>
        <Labels name="ner" toName="text"><Label value="PER"/></Labels>
      </View>`);
    expect(Object.keys(parsed)).toEqual(['ner']);
  });

  it('records per-region conditionals (tag, label, choice) only for perRegion="true"', () => {
    const parsed = parseLabelConfig(`
      <View>
        <Image name="image" value="$image"/>
        <RectangleLabels name="box" toName="image"><Label value="Car"/></RectangleLabels>
        <TextArea name="byTag" toName="image" perRegion="true" whenTagName="box"/>
        <Choices name="byLabel" toName="image" perRegion="true" whenLabelValue="Car"><Choice value="Red"/></Choices>
        <TextArea name="byChoice" toName="image" perRegion="true" whenChoiceValue="Red"/>
        <TextArea name="notPerRegion" toName="image" whenTagName="box"/>
      </View>`);
    expect(parsed.byTag?.conditionals).toEqual({ type: 'tag', name: 'box' });
    expect(parsed.byLabel?.conditionals).toEqual({ type: 'label', name: 'Car' });
    expect(parsed.byChoice?.conditionals).toEqual({ type: 'choice', name: 'Red' });
    expect(parsed.notPerRegion).not.toHaveProperty('conditionals');
  });

  it('adds regex for Repeater index variables used in toName (explicit indexFlag and the {{idx}} default)', () => {
    const parsed = parseLabelConfig(`
      <View>
        <Repeater on="$pages" indexFlag="{{n}}">
          <Image name="page_{{n}}" value="$pages[{{n}}].url"/>
          <RectangleLabels name="box_{{n}}" toName="page_{{n}}"><Label value="Sign"/></RectangleLabels>
        </Repeater>
        <Repeater on="$images">
          <Image name="img_{{idx}}" value="$images[{{idx}}].url"/>
          <Choices name="cls_{{idx}}" toName="img_{{idx}}"><Choice value="OK"/></Choices>
        </Repeater>
        <Text name="text" value="$text"/>
        <Choices name="outside" toName="text"><Choice value="X"/></Choices>
      </View>`);
    expect(parsed['box_{{n}}']?.regex).toEqual({ '{{n}}': '.*' });
    expect(parsed['box_{{n}}']?.inputs).toEqual([{ type: 'Image', valueType: null, value: 'pages[{{n}}].url' }]);
    expect(parsed['cls_{{idx}}']?.regex).toEqual({ '{{idx}}': '.*' });
    // Variables are scoped to their Repeater: a control outside gets none.
    expect(parsed.outside).not.toHaveProperty('regex');
  });

  it('decodes only the predefined entities and character references', () => {
    const parsed = parseLabelConfig(`
      <View>
        <Text name="text" value="$text"/>
        <Choices name="c" toName="text"><Choice value="A &amp; B &lt;&gt; &quot;q&quot; &apos;s&apos; &#233;&#x4E2D;"/></Choices>
      </View>`);
    expect(parsed.c?.labels).toEqual(['A & B <> "q" \'s\' é中']);
    const err = configError(() => parseLabelConfig('<View>\n<Choices name="c" toName="t"><Choice value="&nbsp;"/></Choices></View>'));
    expect(err.message).toMatch(/undefined entity/);
    expect(err.line).toBe(2);
  });

  it('handles names like __proto__ as plain data without touching prototypes', () => {
    const parsed = parseLabelConfig(`
      <View>
        <Text name="text" value="$text"/>
        <Choices name="__proto__" toName="text"><Choice value="__proto__" polluted="yes"/></Choices>
      </View>`);
    expect(Object.keys(parsed)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    const control = Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value as { labels: string[] };
    expect(control.labels).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseLabelConfig: hostile and malformed input', () => {
  it('rejects a billion-laughs DOCTYPE before expanding anything', () => {
    const lol = `<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<View><Text name="text" value="&lol9;"/></View>`;
    const err = configError(() => parseLabelConfig(lol));
    expect(err.message).toMatch(/DOCTYPE/);
    expect(err.line).toBe(8);
  });

  it('rejects an external entity (XXE) and never reads the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xxe-'));
    try {
      const secretFile = join(dir, 'secret.txt');
      writeFileSync(secretFile, 'TOP-SECRET-CONTENT');
      const xxe = `<?xml version="1.0"?>
<!DOCTYPE View [<!ENTITY xxe SYSTEM "${pathToFileURL(secretFile).href}">]>
<View><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="&xxe;"/></Choices></View>`;
      const err = configError(() => parseLabelConfig(xxe));
      expect(err.message).toMatch(/DOCTYPE/);
      expect(err.message).not.toContain('TOP-SECRET');
      // The classic payload too.
      const classic = '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><View><Text name="t" value="&xxe;"/></View>';
      expect(configError(() => parseLabelConfig(classic)).message).not.toContain('root:');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects even a harmless DOCTYPE, and entity references without one', () => {
    expect(configError(() => parseLabelConfig('<!DOCTYPE View><View/>')).message).toMatch(/DOCTYPE/);
    expect(configError(() => parseLabelConfig('<View><Text name="t" value="&xxe;"/></View>')).message).toMatch(
      /undefined entity/,
    );
  });

  it('reports an unclosed tag with its line', () => {
    const err = configError(() => parseLabelConfig('<View>\n  <Text name="text" value="$text"/>\n  <Choices name="c" toName="text">\n</View>'));
    expect(err.line).toBe(4);
    expect(err.message).toMatch(/line 4/);
    expect(err.message).toMatch(/close tag/);

    const eof = configError(() => parseLabelConfig('<View>\n<Text name="text" value="$text"/>'));
    expect(eof.message).toMatch(/unclosed tag/);
    expect(eof.line).toBe(2);
  });

  it('rejects other syntax errors: text-only, two roots, duplicate attributes', () => {
    expect(configError(() => parseLabelConfig('not xml'))).toBeInstanceOf(LabelConfigError);
    expect(configError(() => parseLabelConfig('<View/><View/>')).message).toMatch(/root/);
    expect(configError(() => parseLabelConfig('<View><Text name="a" name="b" value="$x"/></View>')).message).toMatch(
      /duplicate attribute/,
    );
  });

  it('caps size, element count and depth', () => {
    const big = `<View><Text name="t" value="$t"/>${'<!-- padding -->'.repeat(70_000)}</View>`;
    expect(configError(() => parseLabelConfig(big)).message).toMatch(/too large/);

    const many = `<View>${'<View/>'.repeat(50_000)}</View>`; // 50,001 elements
    expect(configError(() => parseLabelConfig(many)).message).toMatch(/more than 50000 elements/);
    expect(parseLabelConfig(`<View>${'<View/>'.repeat(49_999)}</View>`)).toEqual({});

    const nested = (depth: number) => '<View>'.repeat(depth) + '</View>'.repeat(depth);
    expect(parseLabelConfig(nested(200))).toEqual({});
    expect(configError(() => parseLabelConfig(nested(201))).message).toMatch(/deeper than 200/);

    // Limits are adjustable per call.
    expect(configError(() => parseLabelConfig(nested(4), { maxDepth: 3 })).message).toMatch(/deeper than 3/);
    expect(configError(() => parseLabelConfig(nested(4), { maxElements: 3 })).message).toMatch(/more than 3 elements/);
    expect(configError(() => parseLabelConfig('<View/>', { maxBytes: 5 })).message).toMatch(/too large: 7 bytes/);
  });
});

describe('LabelInterface', () => {
  const CONFIG = `
    <View>
      <Image name="photo" value="$image_url"/>
      <Text name="caption" value="$caption"/>
      <Choices name="caption_sentiment" toName="caption"><Choice value="Pos"/><Choice value="Neg"/></Choices>
      <Choices name="photo_class" toName="photo"><Choice value="Cat"/><Choice value="Dog"/></Choices>
      <RectangleLabels name="boxes" toName="photo"><Label value="Cat"/></RectangleLabels>
    </View>`;
  const li = new LabelInterface(CONFIG);

  it('exposes the raw config, the parsed controls and the object tags', () => {
    expect(li.config).toBe(CONFIG);
    expect(li.controls).toEqual(parseLabelConfig(CONFIG));
    expect(li.objects).toEqual({
      photo: { type: 'Image', valueType: null, value: 'image_url' },
      caption: { type: 'Text', valueType: null, value: 'caption' },
    });
    expect(li.control('boxes')?.type).toBe('RectangleLabels');
    expect(li.control('nope')).toBeUndefined();
    expect(li.control('toString')).toBeUndefined();
    expect(li.labels('photo_class')).toEqual(['Cat', 'Dog']);
    expect(() => li.labels('nope')).toThrow(LabelConfigError);
  });

  it('is frozen, so a shared instance cannot be changed by one caller', () => {
    expect(() => (li.labels('photo_class') as string[]).push('Bird')).toThrow(TypeError);
    expect(() => {
      li.controls.boxes!.to_name[0] = 'x';
    }).toThrow(TypeError);
    expect(li.labels('photo_class')).toEqual(['Cat', 'Dog']);
  });

  it('firstTagOccurrence returns the first matching control/object pair, case-insensitively', () => {
    expect(li.firstTagOccurrence('Choices', 'Image')).toEqual({
      fromName: 'photo_class',
      toName: 'photo',
      value: 'image_url',
    });
    expect(li.firstTagOccurrence('choices', 'text')).toEqual({
      fromName: 'caption_sentiment',
      toName: 'caption',
      value: 'caption',
    });
    expect(li.firstTagOccurrence(['Labels', 'RectangleLabels'], 'Image').fromName).toBe('boxes');
  });

  it('firstTagOccurrence applies name and toName filters', () => {
    expect(li.firstTagOccurrence('Choices', ['Image', 'Text'], { nameFilter: (n) => n !== 'caption_sentiment' }).fromName).toBe(
      'photo_class',
    );
    expect(li.firstTagOccurrence('Choices', ['Image', 'Text'], { toNameFilter: (n) => n === 'photo' }).toName).toBe('photo');
  });

  it('firstTagOccurrence throws a LabelConfigError naming the types when nothing matches', () => {
    expect(() => li.firstTagOccurrence('Labels', 'Text')).toThrow(LabelConfigError);
    expect(() => li.firstTagOccurrence('Choices', 'Audio')).toThrow(/<choices> control tag pointing at an <audio> object/);
    expect(() => li.firstTagOccurrence('Choices', 'Image', { toNameFilter: () => false })).toThrow(LabelConfigError);
    // A control whose toName has no object tag does not match.
    expect(() => new LabelInterface('<View><Choices name="c" toName="gone"/></View>').firstTagOccurrence('Choices', 'Text')).toThrow(
      LabelConfigError,
    );
  });

  it('propagates parse errors from the constructor', () => {
    expect(() => new LabelInterface('<View>')).toThrow(LabelConfigError);
  });
});

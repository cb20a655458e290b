#!/usr/bin/env python3
"""pretok.py: chord's BPE pre-tokenizers against llama.cpp's, for every
tokenizer.ggml.pre name llama.cpp 0.3.36 knows.

  pretok.py PRETOK_TEST CORPUS.jsonl...   split texts (the goldens', the
        ones below, random ones) with each name, chord against the regexes
  pretok.py --vocab CHORD_TOK DIR          each ggml-vocab-*.gguf of DIR
        with .inp/.out (llama.cpp's test-tokenizer-0 cases): chord-tok's ids

The reference runs llama.cpp's regexes (tables below, from llama-vocab.cpp)
with Python's `regex` module the way llama.cpp's unicode_regex_split runs
them with std::regex: a regex with \\p{..} sees each non-ASCII codepoint
collapsed to one stand-in for its category (\\p{Lu} is then any letter), \\s
is C's isspace, \\d is [0-9], $ is the end of the word. The regexes llama.cpp
replaces with its own code are run as that code reads them (Kimi K2:
Han by llama.cpp's blocks, no \\p{M}; AFMoE digits: groups of three from the
right, the text before a run joined to its first group)."""
import json
import os
import random
import subprocess
import sys
import unicodedata

import regex

# tokenizer.ggml.pre -> llama.cpp's LLAMA_VOCAB_PRE_TYPE_* (llama_vocab::load)
NAMES = {
    'afmoe': 'AFMOE', 'bailingmoe': 'BAILINGMOE', 'bailingmoe2': 'BAILINGMOE',
    'llada-moe': 'BAILINGMOE', 'bloom': 'BLOOM', 'chameleon': 'CHAMELEON',
    'chatglm-bpe': 'CHATGLM4', 'glm4': 'CHATGLM4', 'glm5': 'CHATGLM4',
    'codeshell': 'CODESHELL', 'command-r': 'COMMAND_R', 'dbrx': 'DBRX',
    'deepseek-v3': 'DEEPSEEK3_LLM', 'deepseek-coder': 'DEEPSEEK_CODER',
    'deepseek-llm': 'DEEPSEEK_LLM', 'default': 'DEFAULT', 'exaone': 'EXAONE',
    'exaone-moe': 'EXAONE_MOE', 'falcon': 'FALCON', 'gemma4': 'GEMMA4',
    'granite-embed-multi-311m': 'GEMMA4', 'a.x-4.0': 'GPT2', 'exaone4': 'GPT2',
    'gigachat': 'GPT2', 'gpt-2': 'GPT2', 'jina-de': 'GPT2', 'jina-es': 'GPT2',
    'jina-v1-en': 'GPT2', 'jina-v2-code': 'GPT2', 'jina-v2-de': 'GPT2',
    'jina-v2-es': 'GPT2', 'mellum': 'GPT2', 'modern-bert': 'GPT2',
    'phi-2': 'GPT2', 'roberta-bpe': 'GPT2', 'gpt3-finnish': 'GPT3_FINNISH',
    'gpt-4o': 'GPT4O', 'kanana2': 'GPT4O', 'llama4': 'GPT4O',
    'talkie': 'GPT4O', 'granite-docling': 'GRANITE_DOCLING',
    'granite-embed-multi-97m': 'GRANITE_EMB_MULTI', 'grok-2': 'GROK_2',
    'hunyuan': 'HUNYUAN', 'hunyuan-dense': 'HUNYUAN_DENSE', 'hy_v4': 'HY_V4',
    'jais': 'JAIS', 'jais-2': 'JAIS2', 'joyai-llm': 'JOYAI_LLM',
    'kimi-k2': 'KIMI_K2', 'laguna': 'LAGUNA', 'falcon-h1': 'LLAMA3',
    'falcon3': 'LLAMA3', 'jina-v5-nano': 'LLAMA3', 'lfm2': 'LLAMA3',
    'llama-bpe': 'LLAMA3', 'llama-v3': 'LLAMA3', 'llama3': 'LLAMA3',
    'midm-2.0': 'LLAMA3', 'pixtral': 'LLAMA3', 'mellum2': 'MELLUM2',
    'minerva-7b': 'MINERVA', 'minicpm5': 'MINICPM5',
    'minimax-m2': 'MINIMAX_M2', 'mpt': 'MPT', 'olmo': 'OLMO',
    'poro-chat': 'PORO', 'deepseek-r1-qwen': 'QWEN2', 'f2llmv2': 'QWEN2',
    'kormo': 'QWEN2', 'megrez': 'QWEN2', 'qwen2': 'QWEN2', 'qwen35': 'QWEN35',
    'refact': 'REFACT', 'sarvam-moe': 'SARVAM_MOE', 'seed-coder': 'SEED_CODER',
    'smaug-bpe': 'SMAUG', 'smollm': 'SMOLLM', 'solar-open': 'SOLAR_OPEN',
    'spark2_5': 'SPARK2_5', 'stablelm2': 'STABLELM2', 'starcoder': 'STARCODER',
    'superbpe': 'SUPERBPE', 'tekken': 'TEKKEN', 'cohere2moe': 'TINY_AYA',
    'tiny_aya': 'TINY_AYA', 'trillion': 'TRILLION', 'ufakzeka': 'UFAKZEKA',
    'viking': 'VIKING', 'whitespace': 'WHITESPACE', 'youtu': 'YOUTU',
}

# LLAMA_VOCAB_PRE_TYPE_* -> its regexes (llm_tokenizer_bpe), in order
SETS = {
    'AFMOE': [
        '\\p{AFMoE_digits}',
        '[一-鿿㐀-䶿豈-\ufaff\u3040-ゟ゠-ヿ･-ﾟ⼀-\u2fdfเ-\u0e7f\u0e80-\u0effក-\u17ffက-႟ꩠ-ꩿꧠ-\ua9ff가-\ud7afᄀ-ᇿ]+',
        '[!"#$%&\'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+',
    ],
    'BAILINGMOE': [
        "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
    ],
    'BLOOM': [
        ' ?[^(\\s|.,!?…。，、।۔،)]+',
    ],
    'CHAMELEON': [
        '<sentinel:[0-9]+>',
        '(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z',
        '([\\t\\n]|    |  )',
        '\\p{N}',
        '[\\p{P}!-/:-@\\[-`{-~]',
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'CHATGLM4': [
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'CODESHELL': [
        '\\p{N}',
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'COMMAND_R': [
        '\\p{N}',
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'DBRX': [
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'DEEPSEEK3_LLM': [
        '\\p{N}{1,3}',
        '[一-龥\u3040-ゟ゠-ヿ]+',
        '[!"#$%&\'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+',
    ],
    'DEEPSEEK_CODER': [
        '[\r\n]',
        '\\s?\\p{L}+',
        '\\s?\\p{P}+',
        '[一-龥ࠀ-一가-\ud7ff]+',
        '\\p{N}',
    ],
    'DEEPSEEK_LLM': [
        '[\r\n]',
        '\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1f7dᾀ-ᾴᾶ-ᾼ\u1fbeῂ-ῄῆ-ῌῐ-\u1fd3ῖ-\u1fdbῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212a-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+',
        '\\s?[!-/:-~！-／：-～‘-‟\u3000-。]+',
        '\\s+$',
        '[一-龥ࠀ-一가-\ud7ff]+',
        '\\p{N}+',
    ],
    'DEFAULT': [
        '[\\p{P}\\$\\+<=>\\^~\\|]+',
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
        '\\p{N}+',
        '[0-9][0-9][0-9]',
    ],
    'EXAONE': [
        '\\p{N}',
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'EXAONE_MOE': [
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
    ],
    'FALCON': [
        '[\\p{P}\\$\\+<=>\\^~\\|`]+',
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
        '[0-9][0-9][0-9]',
    ],
    'GEMMA4': [
        '[^\\n]+|[\\n]+',
    ],
    'GPT2': [
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'GPT3_FINNISH': [
        ' ?[^(\\s|.,!?…。，、।۔،)]+',
    ],
    'GPT4O': [
        "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'GRANITE_DOCLING': [
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'GRANITE_EMB_MULTI': [
        "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))*((?=[\\p{L}\\p{M}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))+((?=[\\p{L}\\p{M}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'GROK_2': [
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'HUNYUAN': [
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'HUNYUAN_DENSE': [
        '\\p{N}{1,3}',
        '[一-龥\u3040-ゟ゠-ヿ]+',
        '[!"#$%&\'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+',
    ],
    'HY_V4': [
        '\\p{N}{1,3}',
        '[一-龥\u3040-ゟ゠-ヿ]+',
        '[!"#$%&\'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+',
    ],
    'JAIS': [
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'JAIS2': [
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}",
    ],
    'JOYAI_LLM': [
        '\\p{N}{1,3}',
        '[一-龥\u3040-ゟ゠-ヿ]+',
        '[!"#$%&\'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+',
    ],
    'KIMI_K2': [
        '\\p{Han}+',
    ],
    'LAGUNA': [
        '[^\\n]+|[\\n]+',
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'LLAMA3': [
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'MELLUM2': [
        '\\p{N}',
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'MINERVA': [
        '\\p{N}',
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'MINICPM5': [
        '\\p{N}{1,3}',
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'MINIMAX_M2': [
        "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'MPT': [
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'OLMO': [
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'PORO': [
        ' ?[^(\\s|.,!?…。，、।۔،)]+',
    ],
    'QWEN2': [
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'QWEN35': [
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'REFACT': [
        '\\p{N}',
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'SARVAM_MOE': [
        '[^\\n]+|[\\n]+',
    ],
    'SEED_CODER': [
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'SMAUG': [
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'SMOLLM': [
        '\\p{N}',
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'SOLAR_OPEN': [
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'SPARK2_5': [
        '\\p{N}{1,3}',
        '[一-龥\u3040-ゟ゠-ヿ]+',
        '[!"#$%&\'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+|[\r\n]|\\s+(?!\\S)|\\s+',
        '\\p{N}',
    ],
    'STABLELM2': [
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'STARCODER': [
        '\\p{N}',
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'SUPERBPE': [
        '\\p{N}+',
        '(?=(\\d{3})+(?!\\d))',
    ],
    'TEKKEN': [
        '[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+',
    ],
    'TINY_AYA': [
        '\\d{1,3}(?=(?:\\d{3})*\\b)',
        "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
    'TRILLION': [
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    ],
    'UFAKZEKA': [
        '[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+',
    ],
    'VIKING': [
        ' ?[^(\\s|.,!?…。，、।۔،)]+',
        '\\p{N}',
    ],
    'WHITESPACE': [
        '\\S+',
    ],
    'YOUTU': [
        '[가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥\u3040-ゟ゠-ヿ]+',
        "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ],
}

WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005" \
     "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
CSPACE = r"\t\n\x0b\x0c\r "           # C isspace
# \p{X} collapsed: the stand-in of the category and its ASCII members
PROP = {"N": r"\xd1\x30-\x39", "L": r"\xd2A-Za-z",
        "P": r"\xd3!-#%-*,-/:;?@\[-\]_\{\}", "M": r"\xd4",
        "S": r"\xd5\$\+<->\^`\|~"}
STANDIN = {"N": "\xd1", "L": "\xd2", "P": "\xd3", "M": "\xd4", "S": "\xd5"}
HAN = ("\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U0002a6df\U0002a700-\U0002ebef"
       "\uf900-\ufaff\U0002f800-\U0002fa1f")
KIMI = (r"[%s]+|[^\r\n\p{L}\p{N}]?[[\p{L}]--[%s]]+"
        r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|"
        r"\p{N}{1,3}| ?[^%s\p{L}\p{N}]+[\r\n]*|[%s]*[\r\n]+|[%s]+(?![^%s])|"
        r"[%s]+") % (HAN, HAN, WS, WS, WS, WS, WS)
AFMOE = ("\\p{AFMoE_digits}", "\\d{1,3}(?=(?:\\d{3})*\\b)")


def collapse(text):
    out = []
    for ch in text:
        if ord(ch) < 128:
            out.append(ch)
        elif ch in WS:
            out.append("\x0b")
        else:
            out.append(STANDIN.get(unicodedata.category(ch)[0], "\xd0"))
    return "".join(out)


def translate(pat, collapsed):
    """llama.cpp's regex as std::regex reads it, for Python's regex."""
    out, i, inside = [], 0, False
    while i < len(pat):
        c = pat[i]
        if c == "\\":
            n = pat[i + 1]
            if n == "p":
                j = pat.index("}", i)
                body = PROP[pat[i + 3]]
                out.append(body if inside else "[" + body + "]")
                i = j + 1
                continue
            if n in "sSd":
                body = CSPACE if n != "d" else "0-9"
                out.append(body if inside else
                           "[" + ("^" if n == "S" else "") + body + "]")
            else:
                out.append(pat[i:i + 2])
            i += 2
            continue
        if c == "[" and not inside:
            inside = True
        elif c == "]" and inside:
            inside = False
        elif c == "$" and not inside:
            c = r"\Z"
        out.append(c)
        i += 1
    return "".join(out)


def afmoe_digits(text):
    """llama.cpp's unicode_regex_split_custom_afmoe on one word."""
    out, prev, pos = [], 0, 0
    while pos < len(text):
        if not regex.match(r"\p{N}", text[pos]):
            pos += 1
            continue
        start = pos
        while pos < len(text) and regex.match(r"\p{N}", text[pos]):
            pos += 1
        cut = start + (pos - start) % 3 or start + 3
        while cut <= pos:
            out.append(text[prev:cut])
            prev, cut = cut, cut + 3
    out.append(text[prev:])
    return out


def find(pat, word):
    """(start, end) of each match of llama.cpp's regex pat in word."""
    if pat == "\\p{Han}+":
        return [m.span() for m in regex.finditer(KIMI, word, flags=regex.V1)]
    collapsed = any("\\p{%s}" % k in pat for k in
                    ("N", "L", "P", "M", "S", "Lu", "Ll", "Lt", "Lm", "Lo"))
    text = collapse(word) if collapsed else "".join(
        "\x0b" if ord(ch) > 127 and ch in WS else ch for ch in word)
    return [m.span() for m in regex.finditer(translate(pat, collapsed), text)]


def split(pats, text):
    pieces = [text]
    for p in pats:
        out = []
        for piece in pieces:      # matched and unmatched spans both stay
            if p in AFMOE:
                out += afmoe_digits(piece)
                continue
            at = 0
            for a, b in find(p, piece):
                out += [piece[at:a], piece[a:b]]
                at = b
            out.append(piece[at:])
        pieces = [x for x in out if x]
    return [len(x.encode()) for x in pieces]


EXTRA = ["Hello  world\n\n  foo", "x\r\n\r\ny", "123456789 12 1", "I'M HERE'S",
         "  \t\n  a", "a\u00a0\u00a0b", "emoji 😀😀 ok", "(1+2)*3=9;\n", "'''",
         "tab\t\ttab", "end with spaces   ", "\n", "", "ÀÉÎ õ 中文 123abc",
         # every rule at once: scripts, digit runs 1..7, contractions,
         # punctuation runs, whitespace runs, CJK, marks, emoji
         "The Quick brown FOX's jumps; it'S they'Re we'VE I'm you'LL he'D\n"
         "1 22 333 4444 55555 666666 7777777 ١٢٣٤ ½²\n"
         "Ünïcödé Ελληνικά Русский текст עברית العربية हिन्दी ไทย\n"
         "中文字符 日本語のひらがなとカタカナ 한국어 文字 𠀀𠀁 㐀\n"
         "...!!! ??? --- ((x)) {a:[b]} $x+y<=z^2 `a|b~c` \u2026\u3002\uff0c\u3001\u0964\u06d4\u060c\n"
         "\t\t  \n\n   \r\n \u3000\u2028 \u00a0 end  \n"
         "e\u0301 a\u0308b \u0915\u093f \U0001f600\U0001f680 \u20ac100 <sentinel:42> IMGIMGABCZ",
         "a\n\n\nb\n", "  ", " 's", "x'", "CamelCaseWord HTTPServer iPhone",
         "\u0301\u0301abc", "word\u0085next", "\x0b\x0c", "1234567890123",
         "   12", "a  \n"]
POOL = (list("aZsStTmMdDlLrReEvV'09 \t\n\r.,!?-_/()[]{}$+<=>^`|~#@%&*:;\"\\")
        + ["\u00e9", "\u0416", "\u03b1", "\u0130", "\u0301", "\u093f", "\u4e2d",
           "\u6587", "\u3072", "\u30ab", "\ud55c", "\u3400", "\U00020000",
           "\U0001f600", "\u0663", "\u00bd", "\u00b2", "\u00a0", "\u3000",
           "\u2028", "\u0085", "\u20ac", "\u2026", "\u3002", "\uff0c",
           "\u3001", "\u0964", "\u06d4", "\u060c", "\u0e01", "\uff21", "IMG",
           "1", "22", "333", "4444", "  ", "\n\n", "'s", "'LL", "\x0b"])


def texts_for(files):
    texts = list(EXTRA)
    for f in files:
        texts += sorted({json.loads(l)["text"] for l in open(f)})
    rnd = random.Random(1)
    for _ in range(150):
        texts.append("".join(rnd.choice(POOL) for _ in range(rnd.randint(1, 40))))
    return texts


def check_pretok(binary, files):
    texts = texts_for(files)
    data = b"".join(t.encode() + b"\0" for t in texts)
    bad = n = 0
    for name in sorted(NAMES):
        pats = SETS[NAMES[name]]
        p = subprocess.run([binary, "-0", name], input=data, capture_output=True)
        lines = p.stdout.decode().split("\n")
        if p.returncode != 0 or len(lines) != len(texts) + 1:
            bad += 1
            print("%s: %s" % (name, p.stderr.decode().strip()))
            continue
        for t, line in zip(texts, lines):
            got = [int(x) for x in line.split()]
            want = split(pats, t)
            n += 1
            if got != want:
                bad += 1
                print("%s %r: chord %s, llama.cpp %s" % (name, t[:30], got[:12], want[:12]))
    print("%d names, %d splits compared, %d differences" % (len(NAMES), n, bad))
    return bad


def check_vocabs(chord_tok, vdir):
    bad = n = files = 0
    sep = "\n__ggml_vocab_test__\n"
    for name in sorted(os.listdir(vdir)):
        path = os.path.join(vdir, name)
        if not name.endswith(".gguf") or not os.path.exists(path + ".out"):
            continue
        p = subprocess.run([chord_tok, "-m", path, "-c"], input=b"", capture_output=True)
        if p.returncode != 0 and regex.search(rb": tokenizer \S+ not supported$", p.stderr.strip()):
            continue                # a kind chord-tok lacks
        raw = open(path + ".inp", encoding="utf-8").read()
        inps = raw.split(sep)
        if raw.endswith(sep):
            inps = inps[:-1]
        outs = open(path + ".out").read().split("\n")[:len(inps)]
        files += 1
        for text, want in zip(inps, outs):
            # no BOS, control tokens as text; chord-tok drops one final
            # newline, as llama.cpp's -f does
            p = subprocess.run([chord_tok, "-m", path, "--no-bos"],
                               input=(text + "\n").encode(), capture_output=True)
            out = p.stdout.decode().split("\n")
            got = out[1] if p.returncode == 0 and len(out) > 1 else p.stderr.decode()
            n += 1
            if got.split() != want.split():
                bad += 1
                print("%s %r: chord %s, llama.cpp %s" % (name, text[:30], got[:60], want[:60]))
    print("%d vocabs, %d strings compared, %d differences" % (files, n, bad))
    return bad


def main():
    if sys.argv[1] == "--vocab":
        bad = check_vocabs(sys.argv[2], sys.argv[3])
    else:
        bad = check_pretok(sys.argv[1], sys.argv[2:])
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

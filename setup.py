"""Installs I3D (Carreira & Zisserman, CVPR 2017) for TF2/Sonnet 2.

The root keeps DeepMind's kinetics-i3d face: the model is the top-level module
`i3d` and `evaluate_sample.py` the original script. Everything else is the
package `kinetics_i3d`, whose top-level modules are the command-line tools
(installed as `i3d-*` console scripts) and whose subpackages hold the library.
"""

import setuptools

# Console script -> tool module (`python -m kinetics_i3d.<tool>` too).
_TOOLS = {
    'i3d-assets': 'assets',
    'i3d-preprocess': 'preprocess',
    'i3d-extract-features': 'extract_features',
    'i3d-beam-extract-features': 'beam_extract_features',
    'i3d-train': 'train',
    'i3d-inflate': 'inflate',
    'i3d-fvd': 'fvd',
    'i3d-export': 'export',
}

setuptools.setup(
    name='i3d-tf2',
    version='1.1.0',
    description=('Inflated 3D ConvNets (I3D) for TF2 and Sonnet 2, loading '
                 "DeepMind's kinetics-i3d checkpoints unchanged."),
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    py_modules=['i3d', 'evaluate_sample'],
    packages=setuptools.find_packages(include=['kinetics_i3d', 'kinetics_i3d.*']),
    # What the tools read, shipped inside the package. In the repository
    # kinetics_i3d/data/*.txt and kinetics_i3d/configs are symbolic links to
    # the root's data/*.txt and configs/ (the original's layout); building
    # the sdist and the wheel copies the files they point to.
    package_data={'kinetics_i3d': ['configs/*.py',
                                   'data/*.txt',
                                   'testing/testdata/*.json',
                                   'testing/testdata/original_out/*.txt',
                                   'weights/*.json']},
    entry_points={'console_scripts': [
        f'{script}=kinetics_i3d.{module}:run'
        for script, module in _TOOLS.items()
    ]},
    install_requires=[
        'absl-py>=1.0',
        'av>=11.0',
        'dm-sonnet>=2.0.2',
        'dm-tree>=0.1.8',
        'numpy>=1.23',
        'opencv-contrib-python-headless>=4.8',
        'pillow>=9.0',
        'scipy>=1.9',
        'tensorflow>=2.15',
        'ml-collections>=1.0',
        'tqdm>=4.60',
    ],
    extras_require={
        'beam': ['apache-beam>=2.77'],
        'test': ['pytest>=7.0', 'pytest-xdist>=3.0'],
        # i3d-export's converters and runtimes; tensorflow_hub 0.16 still
        # imports pkg_resources, which setuptools 81 removes.
        'export': ['tf2onnx>=1.16', 'onnxruntime>=1.16', 'openvino>=2024.0',
                   'tensorflow-hub>=0.16', 'setuptools<81'],
    },
)
